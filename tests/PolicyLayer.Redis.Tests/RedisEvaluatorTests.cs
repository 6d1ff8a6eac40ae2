using PolicyLayer.TestUtils.Redis;
using StackExchange.Redis;

namespace PolicyLayer.Redis.Tests;

/// <summary>The evaluator on a Redis store: limits shared by instances, and an outage turned into decisions, never exceptions.</summary>
[NonParallelizable]
public sealed class RedisEvaluatorTests
{
    private const string Policy = """
        {
          "version": "1",
          "default": "allow",
          "all_tools": { "limits": [ { "counter": "all_calls", "window": "minute", "max": 100, "scope": "session" } ] },
          "tools": {
            "add_label": { "limits": [ { "counter": "labels", "window": "minute", "max": 3, "scope": "grant" } ] }
          }
        }
        """;

    private static readonly CallerIdentity Caller = new() { GrantId = "grant-1", SessionId = "session-1" };

    [Test]
    public async Task Evaluate_TwoInstances_ShareTheLimit()
    {
        var prefix = RedisTestServer.UniquePrefix();
        var document = PolicyDocument.Parse(Policy);
        PolicyEvaluator Instance() => new(document, new PolicyEvaluatorOptions
        {
            CounterStore = new RedisCounterStore(RedisTestServer.Connection, new RedisCounterStoreOptions { KeyPrefix = prefix }),
        });
        var first = Instance();
        var second = Instance();

        var outcomes = new List<PolicyOutcome>();
        for (var i = 0; i < 4; i++)
        {
            outcomes.Add((await (i % 2 == 0 ? first : second).EvaluateAsync(new ToolCall("add_label", Caller))).Outcome);
        }

        outcomes.Should().Equal(PolicyOutcome.Allow, PolicyOutcome.Allow, PolicyOutcome.Allow, PolicyOutcome.Deny);
    }

    [TestCase(CounterStoreFailureMode.FailClosed, PolicyOutcome.Deny)]
    [TestCase(CounterStoreFailureMode.FailOpen, PolicyOutcome.Allow)]
    public async Task Evaluate_RedisDown_IsADecisionWithAReason_NotAnException(CounterStoreFailureMode mode, PolicyOutcome expected)
    {
        await using var server = await RedisServer.StartForTestAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(server));
        var evaluator = new PolicyEvaluator(PolicyDocument.Parse(Policy), new PolicyEvaluatorOptions
        {
            CounterStore = new RedisCounterStore(connection, new RedisCounterStoreOptions { Timeout = TimeSpan.FromMilliseconds(300) }),
            CounterStoreFailureMode = mode,
        });
        (await evaluator.EvaluateAsync(new ToolCall("add_label", Caller))).Outcome.Should().Be(PolicyOutcome.Allow);

        await server.KillAsync();
        var decision = await evaluator.EvaluateAsync(new ToolCall("add_label", Caller));

        decision.Outcome.Should().Be(expected);
        decision.Reason.Should().Contain("counter store");
        if (mode == CounterStoreFailureMode.FailClosed)
        {
            decision.Reason.Should().Contain(nameof(CounterStoreUnavailableException)).And.Contain("Redis");
        }
    }
}
