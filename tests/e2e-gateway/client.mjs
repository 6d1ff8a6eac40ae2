// A real MCP client (the official TypeScript SDK, over Streamable HTTP) for the end-to-end tests of the HTTP gateway
// (`policylayer proxy --listen`), with @modelcontextprotocol/server-everything behind it.
//
//   node client.mjs --gateway URL --denied TOOL (--direct-url URL | --direct -- COMMAND ARGS...)
//
// Runs the same session twice, once through the gateway and once straight to the server (over HTTP, or over stdio
// by spawning COMMAND), and prints one JSON object:
// { gateway: SESSION, direct: SESSION }, where SESSION is
// { serverName, tools: [names], prompts, resources, resourceTemplates,   (the list answers, as received)
//   echo: RESULT, denied: RESULT, progress: [{ progress, total }], longRunning: RESULT }.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const argv = process.argv.slice(2);
const separator = argv.indexOf('--');
const optionArgs = separator < 0 ? argv : argv.slice(0, separator);
const options = {};
for (let i = 0; i < optionArgs.length; i += 2) {
  options[optionArgs[i].replace(/^--/, '')] = optionArgs[i + 1];
}

const command = separator < 0 ? [] : argv.slice(separator + 1);
if (!options.gateway || !options.denied || (!options['direct-url'] && command.length === 0)) {
  console.error('usage: node client.mjs --gateway URL --denied TOOL (--direct-url URL | --direct -- COMMAND ARGS...)');
  process.exit(2);
}

async function session(transport) {
  const client = new Client({ name: 'e2e-gateway-client', version: '1.0.0' }, { capabilities: {} });
  // Progress is recorded as the transport delivers it: the SDK runs notification handlers a microtask late, after a
  // response that arrived in the same read has already removed the request's onprogress callback, so the callback
  // can miss the last notification. (Client.connect keeps and calls a handler set before it.)
  const progress = [];
  transport.onmessage = (message) => {
    if (message.method === 'notifications/progress') {
      progress.push({ progress: message.params.progress, total: message.params.total });
    }
  };
  await client.connect(transport);
  const out = { serverName: client.getServerVersion()?.name ?? null };
  out.tools = (await client.listTools()).tools.map((tool) => tool.name);
  out.prompts = await client.listPrompts();
  out.resources = await client.listResources();
  out.resourceTemplates = await client.listResourceTemplates();
  out.echo = await client.callTool({ name: 'echo', arguments: { message: 'hello through the gateway' } });
  out.denied = await client.callTool({ name: options.denied, arguments: {} });
  // An onprogress callback makes the SDK send a progressToken, without which the tool reports no progress.
  out.longRunning = await client.callTool(
    { name: 'trigger-long-running-operation', arguments: { duration: 0.6, steps: 3 } },
    undefined,
    { onprogress: () => {} },
  );
  out.progress = progress;
  await client.close();
  return out;
}

const gateway = await session(new StreamableHTTPClientTransport(new URL(options.gateway)));
const direct = await session(
  options['direct-url']
    ? new StreamableHTTPClientTransport(new URL(options['direct-url']))
    : new StdioClientTransport({ command: command[0], args: command.slice(1), env: process.env, stderr: 'ignore' }),
);
process.stdout.write(JSON.stringify({ gateway, direct }) + '\n');
