// A real MCP client (the official TypeScript SDK) for the end-to-end tests of `policylayer proxy`.
//
//   node client.mjs --elicitation accept|decline|none --steps '<json>' -- COMMAND ARGS...
//
// Spawns COMMAND (the proxy, which spawns the server) over stdio, runs the steps in order and prints one
// JSON object: { tools: [names] | null, results: [{ tool, isError, text }], elicitations: [messages],
// changedTools: [names] | null }.
// Steps: [{ "list": true }, { "call": "read_text_file", "arguments": { ... } },
//         { "writeFile": PATH, "text": "..." },      (a new policy for `proxy --watch`)
//         { "awaitToolsChanged": true }, ...]        (waits up to 10 s for the SDK's tools listChanged refresh)
import { writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const argv = process.argv.slice(2);
const separator = argv.indexOf('--');
if (separator < 0 || separator === argv.length - 1) {
  console.error('usage: node client.mjs --elicitation accept|decline|none --steps JSON -- COMMAND ARGS...');
  process.exit(2);
}

const options = {};
for (let i = 0; i < separator; i += 2) {
  options[argv[i].replace(/^--/, '')] = argv[i + 1];
}

const elicitation = options.elicitation ?? 'none';
const steps = JSON.parse(options.steps ?? '[]');
const [command, ...args] = argv.slice(separator + 1);

// The SDK refreshes the tool list on notifications/tools/list_changed only when the server declared
// capabilities.tools.listChanged; each refresh resolves the next awaitToolsChanged step.
let toolsChanged = [];
let onToolsChanged = null;
const client = new Client(
  { name: 'e2e-proxy-client', version: '1.0.0' },
  {
    capabilities: elicitation === 'none' ? {} : { elicitation: {} },
    listChanged: {
      tools: {
        onChanged: (error, tools) => {
          toolsChanged.push(error ? { error: String(error) } : tools);
          onToolsChanged?.();
        },
      },
    },
  },
);

const elicitations = [];
if (elicitation !== 'none') {
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    elicitations.push(request.params.message);
    return elicitation === 'accept'
      ? { action: 'accept', content: { approve: true } }
      : { action: 'decline' };
  });
}

const transport = new StdioClientTransport({ command, args, env: process.env, stderr: 'inherit' });
await client.connect(transport);

const output = { tools: null, results: [], elicitations, changedTools: null };
for (const step of steps) {
  if (step.writeFile) {
    writeFileSync(step.writeFile, step.text);
  } else if (step.awaitToolsChanged) {
    if (toolsChanged.length === 0) {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no tools list_changed within 10 s')), 10000);
        onToolsChanged = () => { clearTimeout(timer); resolve(); };
      });
    }
    const changed = toolsChanged.shift();
    if (changed.error) {
      throw new Error(changed.error);
    }
    output.changedTools = changed.map((tool) => tool.name);
  } else if (step.list) {
    const listed = await client.listTools();
    output.tools = listed.tools.map((tool) => tool.name);
  } else if (step.call) {
    const result = await client.callTool({ name: step.call, arguments: step.arguments ?? {} });
    output.results.push({
      tool: step.call,
      isError: result.isError === true,
      text: (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n'),
    });
  }
}

await client.close();
process.stdout.write(JSON.stringify(output) + '\n');
