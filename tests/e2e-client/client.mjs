// Usage: node client.mjs <server command> [args...]
// Starts the server over stdio with @modelcontextprotocol/sdk, lists tools, calls add_execution_labels 31 times
// and delete_flow once, and prints one JSON summary line on stdout.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: node client.mjs <server command> [args...]");
  process.exit(2);
}

const transport = new StdioClientTransport({ command, args, env: { ...process.env, KESTRA_GRANT: "e2e-grant" }, stderr: "inherit" });
const client = new Client({ name: "e2e-node-client", version: "1.0.0" });
await client.connect(transport);

const text = (r) => (r.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join(" ");
const tools = (await client.listTools()).tools.map((t) => t.name);
const labels = [];
for (let i = 1; i <= 31; i++) {
  const r = await client.callTool({ name: "add_execution_labels", arguments: { executionId: "exec-1", labels: { n: String(i) } } });
  labels.push({ isError: r.isError === true, text: text(r) });
}
const del = await client.callTool({ name: "delete_flow", arguments: { namespace: "company.team", id: "hello" } });
let unknownError = null;
try {
  const u = await client.callTool({ name: "no_such_tool", arguments: {} });
  unknownError = u.isError ? text(u) : null;
} catch (e) {
  unknownError = String(e.message ?? e);
}
await client.close();
console.log(JSON.stringify({ tools, labels, deleteFlow: { isError: del.isError === true, text: text(del) }, unknownError }));
