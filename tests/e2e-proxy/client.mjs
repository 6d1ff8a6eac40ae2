// A real MCP client (the official TypeScript SDK) for the end-to-end tests of `policylayer proxy`.
//
//   node client.mjs --elicitation accept|decline|none --steps '<json>' -- COMMAND ARGS...
//
// Spawns COMMAND (the proxy, which spawns the server) over stdio, runs the steps in order and prints one
// JSON object: { tools: [names] | null, results: [{ tool, isError, text }], elicitations: [messages] }.
// Steps: [{ "list": true }, { "call": "read_text_file", "arguments": { ... } }, ...]
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

const client = new Client(
  { name: 'e2e-proxy-client', version: '1.0.0' },
  { capabilities: elicitation === 'none' ? {} : { elicitation: {} } },
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

const output = { tools: null, results: [], elicitations };
for (const step of steps) {
  if (step.list) {
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
