using System.Buffers;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using PolicyLayer.Gate;

namespace PolicyLayer.ModelContextProtocol.Tests;

/// <summary>The middleware sends exactly what a relay writes with the gate's refusal: one place builds both.</summary>
public sealed class OneRefusalFormatTests
{
    private const string Policy = """
        { "version": "1", "tools": {
            "delete_flow": { "action": "deny", "reason": "Deleting is done by people, not agents." },
            "add_execution_labels": { "limits": [ { "counter": "labels", "window": "minute", "max": 1, "scope": "grant" } ] } } }
        """;

    [Test]
    public async Task MiddlewareRefusal_IsByteIdenticalToTheRelaysToolResult()
    {
        await using var host = new McpTestHost(Policy);
        await using var client = await host.ConnectAsync();
        await client.LabelAsync();

        foreach (var (tool, call) in new (string, Func<Task<CallToolResult>>)[]
                 {
                     ("delete_flow", () => client.CallToolAsync("delete_flow", new Dictionary<string, object?> { ["namespace"] = "n", ["id"] = "i" }).AsTask()),
                     ("add_execution_labels", () => client.LabelAsync()),
                 })
        {
            var viaMiddleware = await call();
            var decision = await host.Evaluator.EvaluateAsync(new ToolCall(tool, new CallerIdentity { GrantId = "grant-a" }));
            var relay = RelayResult(GateRefusal.FromDecision(tool, decision));

            var sent = JsonSerializer.SerializeToElement(viaMiddleware, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(CallToolResult)));
            sent.GetProperty("content")[0].GetProperty("text").GetString().Should().Be(relay.GetProperty("content")[0].GetProperty("text").GetString());
            // The SDK may add its own _meta members beside ours.
            Canonical(sent.GetProperty("_meta").GetProperty(GateRefusal.MetaKey)).Should().Be(Canonical(relay.GetProperty("_meta").GetProperty(GateRefusal.MetaKey)));
            sent.GetProperty("isError").GetBoolean().Should().BeTrue();
        }
    }

    private static JsonElement RelayResult(GateRefusal refusal)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, GateRefusal.WriterOptions))
        {
            refusal.WriteToolResult(json);
        }

        return JsonElement.Parse(buffer.WrittenSpan);
    }

    private static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Canonical(JsonElement element) => JsonSerializer.Serialize(element, Readable);
}
