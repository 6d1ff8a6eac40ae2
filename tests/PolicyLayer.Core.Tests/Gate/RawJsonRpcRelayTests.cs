using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using PolicyLayer.Gate;

namespace PolicyLayer.Core.Tests.Gate;

/// <summary>
/// The gate driven as a raw JSON-RPC relay drives it (the proxy, the HTTP gateway): calls read from the client's lines,
/// approvals asked by writing an elicitation/create line and reading the client's answer line, the call forwarded as
/// decided, and the server's answer line settling the units.
/// </summary>
public sealed class RawJsonRpcRelayTests
{
    private const string Policy = """
        {
          "version": "1",
          "tools": {
            "execute_flow": {
              "action": "require_approval",
              "reason": "Runs a production workflow.",
              "limits": [ { "counter": "execute_rate", "window": "minute", "max": 1, "scope": "session" } ]
            },
            "add_labels": { "limits": [ { "counter": "labels", "window": "minute", "max": 1, "scope": "session" } ] }
          }
        }
        """;

    [Test]
    public async Task Relay_ApprovedCallThatTheServerFails_IsAskedForwardedAndGivesItsUnitBack()
    {
        var relay = new Relay(GateClientFeatures.Elicitation | GateClientFeatures.ServerRequests);

        var pending = relay.HandleClientLineAsync("""{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"execute_flow","arguments":{"id":"f1"}}}""");
        var ask = await relay.ToClient.ReadAsync();
        ask.GetProperty("method").GetString().Should().Be("elicitation/create");
        ask.GetProperty("params").GetProperty("message").GetString().Should().Contain("execute_flow").And.Contain("Runs a production workflow.").And.Contain("id = \"f1\"");
        relay.HandleClientLine("""{"jsonrpc":"2.0","id":""" + ask.GetProperty("id").GetRawText() + ""","result":{"action":"accept","content":{"approve":true}}}""");
        await pending;

        relay.ToServer.Should().ContainSingle().Which.Should().Contain("\"execute_flow\"", "the approved call is forwarded as decided");
        relay.Used("execute_rate").Should().Be(1);

        await relay.HandleServerLineAsync("""{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"boom"}],"isError":true}}""");

        relay.Used("execute_rate").Should().Be(0, "the server reported the tool failed, so its unit comes back");
    }

    [Test]
    public async Task Relay_SecondCallOverTheLimit_AnswersTheClientWithTheGatesRefusalResult()
    {
        var relay = new Relay(GateClientFeatures.None);
        await relay.HandleClientLineAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_labels","arguments":{}}}""");
        await relay.HandleServerLineAsync("""{"jsonrpc":"2.0","id":1,"result":{"content":[]}}""");

        await relay.HandleClientLineAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_labels","arguments":{}}}""");

        relay.ToServer.Should().HaveCount(1, "the refused call never reaches the server");
        var answer = await relay.ToClient.ReadAsync();
        answer.GetProperty("id").GetInt32().Should().Be(2);
        var result = answer.GetProperty("result");
        result.GetProperty("isError").GetBoolean().Should().BeTrue();
        result.GetProperty("content")[0].GetProperty("text").GetString().Should().StartWith("[POLICY DENIED]").And.Contain("rate-limited");
        var decision = result.GetProperty("_meta").GetProperty("policylayer/decision");
        decision.GetProperty("kind").GetString().Should().Be("rate_limited");
        decision.GetProperty("ruleId").GetString().Should().Be("/tools/add_labels/limits/0");
        decision.GetProperty("remaining").GetInt64().Should().Be(0);
        decision.GetProperty("retryAfterSeconds").GetInt64().Should().Be(60);
    }

    [Test]
    public async Task Relay_CaseVariantArgumentNamesInTheRawMessage_AreRefusedBeforeThePolicyIsAsked()
    {
        var relay = new Relay(GateClientFeatures.None);

        await relay.HandleClientLineAsync("""{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add_labels","arguments":{"o":{"amount":1,"amount":1000}}}}""");

        relay.ToServer.Should().BeEmpty();
        var decision = (await relay.ToClient.ReadAsync()).GetProperty("result").GetProperty("_meta").GetProperty("policylayer/decision");
        decision.GetProperty("kind").GetString().Should().Be("invalid_arguments");
        relay.Used("labels").Should().Be(0);
    }

    /// <summary>A minimal relay: one client, one server, lines in and out, the gate deciding.</summary>
    private sealed class Relay : IGateClient
    {
        private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        private readonly InMemoryCounterStore _store;
        private readonly PolicyEvaluator _evaluator;
        private readonly ToolCallGate _gate;
        private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonElement>> _asked = new();
        private readonly ConcurrentDictionary<string, GateVerdict> _forwarded = new();
        private int _nextId;

        public Relay(GateClientFeatures features)
        {
            Features = features;
            _store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = _time });
            _evaluator = new PolicyEvaluator(PolicyDocument.Parse(Policy), new PolicyEvaluatorOptions { TimeProvider = _time, CounterStore = _store });
            _gate = new ToolCallGate(_evaluator, new ToolCallGateOptions(), _time, null);
        }

        public GateClientFeatures Features { get; }

        public System.Threading.Channels.Channel<JsonElement> ToClientChannel { get; } = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();

        public System.Threading.Channels.ChannelReader<JsonElement> ToClient => ToClientChannel.Reader;

        public List<string> ToServer { get; } = [];

        public long Used(string counter)
        {
            var definition = _evaluator.Policy.Counters.Single(c => c.Name == counter);
            var budgets = new CounterBudget[1];
            _store.GetBudgetsAsync(new[] { new CounterRequest(definition, "s-1", 0) }, budgets).AsTask().GetAwaiter().GetResult();
            return definition.Max - budgets[0].Remaining;
        }

        public async Task HandleClientLineAsync(string line)
        {
            using var message = JsonDocument.Parse(line);
            var root = message.RootElement;
            var id = root.GetProperty("id").GetRawText();
            GateCall.TryRead(root.GetProperty("params").Clone(), new CallerIdentity { SessionId = "s-1" }, null, out var call, out var problem)
                .Should().BeTrue(problem);
            var verdict = await _gate.DecideAsync(call!, this, CancellationToken.None);
            if (verdict.Refusal is { } refusal)
            {
                Send(json =>
                {
                    json.WriteStartObject();
                    json.WriteString("jsonrpc", "2.0");
                    json.WritePropertyName("id");
                    json.WriteRawValue(id);
                    json.WritePropertyName("result");
                    refusal.WriteToolResult(json);
                    json.WriteEndObject();
                });
                return;
            }

            _forwarded[id] = verdict;
            verdict.MarkToolStarted();
            ToServer.Add(line);
        }

        public void HandleClientLine(string line)
        {
            using var message = JsonDocument.Parse(line);
            var root = message.RootElement;
            if (_asked.TryRemove(root.GetProperty("id").GetString()!, out var asked))
            {
                asked.SetResult(root.GetProperty("result").Clone());
            }
        }

        public async Task HandleServerLineAsync(string line)
        {
            using var message = JsonDocument.Parse(line);
            var root = message.RootElement;
            if (_forwarded.TryRemove(root.GetProperty("id").GetRawText(), out var verdict))
            {
                var failed = root.TryGetProperty("error", out _)
                    || (root.GetProperty("result").TryGetProperty("isError", out var isError) && isError.ValueKind == JsonValueKind.True);
                await _gate.SettleAsync(verdict, failed ? ToolRunOutcome.Failed : ToolRunOutcome.Succeeded);
            }
        }

        public async ValueTask<JsonElement> ElicitAsync(JsonElement parameters, CancellationToken cancellationToken)
        {
            var id = "policylayer:" + Interlocked.Increment(ref _nextId);
            var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
            _asked[id] = answer;
            Send(json =>
            {
                json.WriteStartObject();
                json.WriteString("jsonrpc", "2.0");
                json.WriteString("id", id);
                json.WriteString("method", "elicitation/create");
                json.WritePropertyName("params");
                parameters.WriteTo(json);
                json.WriteEndObject();
            });
            return await answer.Task.WaitAsync(cancellationToken);
        }

        private void Send(Action<Utf8JsonWriter> write)
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var json = new Utf8JsonWriter(buffer))
            {
                write(json);
            }

            // As a relay would put it on the wire, then read back as the client would.
            var line = Encoding.UTF8.GetString(buffer.WrittenSpan);
            ToClientChannel.Writer.TryWrite(JsonDocument.Parse(line).RootElement.Clone());
        }
    }
}
