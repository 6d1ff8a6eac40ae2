// A real MCP client (the official TypeScript SDK, over Streamable HTTP) for the end-to-end tests of the HTTP gateway
// (`policylayer proxy --listen`), with @modelcontextprotocol/server-everything behind it.
//
//   node client.mjs --gateway URL --denied TOOL --held TOOL (--direct-url URL | --direct -- COMMAND ARGS...)
//
// Runs the same session twice, at the same time, once through the gateway and once straight to the server (over
// HTTP, or over stdio by spawning COMMAND), and prints one JSON object: { gateway: SESSION, direct: SESSION }, where
// SESSION is
// { serverName, tools: [names], prompts, resources, resourceTemplates,   (the list answers, as received)
//   echo: RESULT, denied: RESULT, progress: [{ progress, total }], longRunning: RESULT,
//   resourceRead: { uri, result }, simplePrompt, argsPrompt,             (resources/read, prompts/get)
//   sampling: RESULT, samplingRequests: [params],                       (the server's sampling/createMessage, answered here)
//   elicitation: RESULT, serverElicitations: [params],                  (the server's elicitation/create, accepted here)
//   setLevel: RESULT, logs: [{ level, data, afterResult }],             (logging/setLevel debug, then simulated logging)
//   heldAccepted: RESULT, heldDeclined: RESULT, approvalRequests: [params] }
// The held tool is called twice: the first time every elicitation that is not the server's own (the gateway's approval
// prompt) is accepted with { approve: true }, the second time declined. Directly, the server runs it both times.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const argv = process.argv.slice(2);
const separator = argv.indexOf('--');
const optionArgs = separator < 0 ? argv : argv.slice(0, separator);
const options = {};
for (let i = 0; i < optionArgs.length; i += 2) {
  options[optionArgs[i].replace(/^--/, '')] = optionArgs[i + 1];
}

const command = separator < 0 ? [] : argv.slice(separator + 1);
if (!options.gateway || !options.denied || !options.held || (!options['direct-url'] && command.length === 0)) {
  console.error('usage: node client.mjs --gateway URL --denied TOOL --held TOOL (--direct-url URL | --direct -- COMMAND ARGS...)');
  process.exit(2);
}

// What the sampling handler answers: the tool's result must carry it back, or the relay lost it.
const sampled = { model: 'e2e-client-model', role: 'assistant', content: { type: 'text', text: 'sampled by the e2e client' }, stopReason: 'endTurn' };
const elicited = { name: 'Ada Lovelace', check: true, email: 'ada@example.com' };

async function session(transport) {
  const client = new Client(
    { name: 'e2e-gateway-client', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: { form: {} } } },
  );
  const out = { samplingRequests: [], serverElicitations: [], approvalRequests: [], logs: [] };
  let approvalAnswer = 'accept';
  let afterToggle = false;
  client.setRequestHandler(CreateMessageRequestSchema, (request) => {
    out.samplingRequests.push(request.params);
    return sampled;
  });
  client.setRequestHandler(ElicitRequestSchema, (request) => {
    if (request.params.requestedSchema?.properties?.name) {
      // server-everything's own elicitation (its schema asks for a name).
      out.serverElicitations.push(request.params);
      return { action: 'accept', content: elicited };
    }

    // Anything else is the gateway's approval prompt.
    out.approvalRequests.push(request.params);
    return approvalAnswer === 'accept' ? { action: 'accept', content: { approve: true } } : { action: 'decline' };
  });

  // Progress and log messages are recorded as the transport delivers them: the SDK runs notification handlers a
  // microtask late, after a response that arrived in the same read has already removed the request's onprogress
  // callback, so the callback can miss the last notification. (Client.connect keeps and calls a handler set before it.)
  const progress = [];
  transport.onmessage = (message) => {
    if (message.method === 'notifications/progress') {
      progress.push({ progress: message.params.progress, total: message.params.total });
    } else if (message.method === 'notifications/message') {
      // server-everything appends its own session id over HTTP, which differs between the two sessions.
      const data = String(message.params.data).replace(/ - SessionId \S+$/, '');
      out.logs.push({ level: message.params.level, data, afterResult: afterToggle });
    }
  };
  await client.connect(transport);
  out.serverName = client.getServerVersion()?.name ?? null;
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

  const uri = out.resources.resources[0].uri;
  out.resourceRead = { uri, result: await client.readResource({ uri }) };
  out.simplePrompt = await client.getPrompt({ name: 'simple-prompt' });
  out.argsPrompt = await client.getPrompt({ name: 'args-prompt', arguments: { city: 'Lyon', state: 'Rhône' } });

  out.sampling = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'Say hi', maxTokens: 20 } });
  out.elicitation = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });

  approvalAnswer = 'accept';
  out.heldAccepted = await client.callTool({ name: options.held, arguments: { a: 2, b: 3 } });
  approvalAnswer = 'decline';
  out.heldDeclined = await client.callTool({ name: options.held, arguments: { a: 4, b: 5 } });

  // Logging: the level reaches the server, then its simulated log messages reach the client. The first comes while the
  // toggle call runs; the next ones (every 5 s) arrive when no request is open, so only the GET stream can carry them.
  out.setLevel = await client.setLoggingLevel('debug');
  await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
  afterToggle = true;
  const deadline = Date.now() + 15000;
  while (!out.logs.some((log) => log.afterResult) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
  await client.close();
  return out;
}

const [gateway, direct] = await Promise.all([
  session(new StreamableHTTPClientTransport(new URL(options.gateway))),
  session(
    options['direct-url']
      ? new StreamableHTTPClientTransport(new URL(options['direct-url']))
      : new StdioClientTransport({ command: command[0], args: command.slice(1), env: process.env, stderr: 'ignore' }),
  ),
]);
process.stdout.write(JSON.stringify({ gateway, direct }) + '\n');
