// Usage: node http-client.mjs <endpoint url> <token of alice> <token of bob, same grant>
// Drives the HttpServer sample over Streamable HTTP with @modelcontextprotocol/sdk and a bearer token: lists tools,
// calls list_orders until the grant's limit, asks for a refund that needs approval (the client answers the
// elicitation), one over the cap and a delete, then calls as bob on the same grant, and sends one request with no
// token. Prints one JSON summary line on stdout.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const [url, aliceToken, bobToken] = process.argv.slice(2);
if (!url || !aliceToken || !bobToken) {
  console.error("usage: node http-client.mjs <endpoint url> <alice token> <bob token>");
  process.exit(2);
}

const text = (r) => (r.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join(" ");
const summary = (r) => ({ isError: r.isError === true, text: text(r) });

async function connect(name, token, onElicit) {
  const client = new Client({ name, version: "1.0.0" }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, async (request) => onElicit(request.params));
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

const prompts = [];
const alice = await connect("e2e-http-agent", aliceToken, async (params) => {
  prompts.push(params.message);
  return { action: "accept", content: { approve: true } };
});
const tools = (await alice.listTools()).tools.map((t) => t.name);
const lists = [];
for (let i = 0; i < 6; i++) {
  lists.push(summary(await alice.callTool({ name: "list_orders", arguments: {} })));
}
const approvedRefund = summary(await alice.callTool({ name: "create_refund", arguments: { orderId: "o-1003", amount: 7000, reason: "damaged" } }));
const bigRefund = summary(await alice.callTool({ name: "create_refund", arguments: { orderId: "o-1003", amount: 20000, reason: "damaged" } }));
const del = summary(await alice.callTool({ name: "delete_order", arguments: { id: "o-1001" } }));
await alice.close();

const bob = await connect("e2e-http-agent", bobToken, async () => ({ action: "decline" }));
const bobList = summary(await bob.callTool({ name: "list_orders", arguments: {} }));
const bobRefund = summary(await bob.callTool({ name: "create_refund", arguments: { orderId: "o-1001", amount: 6000, reason: "late" } }));
const bobGet = summary(await bob.callTool({ name: "get_order", arguments: { id: "o-1003" } }));
await bob.close();

const anonymous = await fetch(url, {
  method: "POST",
  headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
  body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
});

console.log(JSON.stringify({ tools, lists, approvedRefund, bigRefund, deleteOrder: del, prompts, bobList, bobRefund, bobGet, anonymousStatus: anonymous.status }));
