using Microsoft.Extensions.Time.Testing;

namespace PolicyLayer.Redis.Tests;

/// <summary>
/// Keys by definition: two definitions of one counter name on one prefix (a rolling deploy, a changed max) never share or
/// prune each other's entries, and client-chosen scope values cost bounded memory in Redis however long they are.
/// </summary>
public sealed class RedisDefinitionTests
{
    private static readonly CallerIdentity Caller = new() { GrantId = "grant-1", SessionId = "session-1" };

    [Test]
    public async Task Evaluate_TwoPolicyVersionsOnOnePrefix_NeverPruneEachOthersEntries()
    {
        // A rolling deploy: version 1 caps refunds at 100 a day, version 2 (on the other instances) at 100 a minute.
        var prefix = RedisTestServer.UniquePrefix();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero));
        var v1 = Evaluator(prefix, time, """{ "counter": "refunds", "window": "day", "max": 100, "scope": "grant" }""");
        var v2 = Evaluator(prefix, time, """{ "counter": "refunds", "window": "minute", "max": 100, "scope": "grant" }""");

        for (var i = 0; i < 100; i++)
        {
            (await v1.EvaluateAsync(new ToolCall("refund", Caller))).Outcome.Should().Be(PolicyOutcome.Allow);
        }

        time.Advance(TimeSpan.FromMinutes(2));
        (await v2.EvaluateAsync(new ToolCall("refund", Caller))).Outcome.Should().Be(PolicyOutcome.Allow, "version 2 counts in a budget of its own");

        // Had version 2's one-minute window pruned version 1's entries, the day's budget would be free again.
        var decision = await v1.EvaluateAsync(new ToolCall("refund", Caller));
        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.RetryAfter.Should().Be(TimeSpan.FromDays(1) - TimeSpan.FromMinutes(2));
    }

    [Test]
    public async Task Reserve_ChangedMax_StartsEmpty_AndTheOldDefinitionKeepsItsUnits()
    {
        var store = RedisCounterStoreTests.CreateStore(new FakeTimeProvider());
        var old = new CounterDefinition("labels", 5, TimeSpan.FromHours(1), CounterScope.Grant);
        var raised = new CounterDefinition("labels", 10, TimeSpan.FromHours(1), CounterScope.Grant);
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(old, "g", 5))).Result.IsAcquired.Should().BeTrue();

        var (result, budgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(raised, "g", 10));

        result.IsAcquired.Should().BeTrue("a changed definition starts empty, as the README says");
        budgets[0].Remaining.Should().Be(0);
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(old, "g", 1))).Result.IsAcquired.Should().BeFalse();
    }

    [Test]
    public async Task Reserve_SameNameDifferentIncrementSource_CountsSeparately()
    {
        var store = RedisCounterStoreTests.CreateStore(new FakeTimeProvider());
        var calls = new CounterDefinition("spend", 100, TimeSpan.FromHours(1), CounterScope.Grant);
        var amounts = new CounterDefinition("spend", 100, TimeSpan.FromHours(1), CounterScope.Grant) { IncrementFrom = "args.amount" };
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(amounts, "g", 100))).Result.IsAcquired.Should().BeTrue();

        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(calls, "g", 1))).Result.IsAcquired.Should().BeTrue();
    }

    [Test]
    public async Task Reserve_AgentIdsOfOneMebibyte_CostABoundedNumberOfBytesInRedis()
    {
        var prefix = RedisTestServer.UniquePrefix();
        var store = RedisCounterStoreTests.CreateStore(new FakeTimeProvider(), prefix);
        var perAgent = new CounterDefinition("per_agent", 10, TimeSpan.FromHours(1), CounterScope.Agent);
        const int Agents = 30;
        for (var i = 0; i < Agents; i++)
        {
            var agentId = new string((char)('a' + (i % 26)), 1 << 20) + i;
            (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(perAgent, agentId, 1))).Result.IsAcquired.Should().BeTrue();
        }

        var keys = await RedisKeyTests.KeysAsync(prefix);
        keys.Should().HaveCount(Agents, "each agent id is a bucket of its own");
        keys.Should().OnlyContain(k => k.Length < prefix.Length + 60);
        long bytes = 0;
        foreach (var key in keys)
        {
            bytes += (long)await RedisTestServer.Connection.GetDatabase().ExecuteAsync("MEMORY", "USAGE", key);
        }

        bytes.Should().BeLessThan(Agents * 512L, "30 MiB of agent ids must not become 30 MiB of keys");
    }

    [Test]
    public async Task Reserve_AgentIdsThatDifferOnlyPastTheHashedLength_AreSeparateBuckets()
    {
        var store = RedisCounterStoreTests.CreateStore(new FakeTimeProvider());
        var perAgent = new CounterDefinition("per_agent", 1, TimeSpan.FromHours(1), CounterScope.Agent);
        var common = new string('x', 100_000);

        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(perAgent, common + "1", 1))).Result.IsAcquired.Should().BeTrue();
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(perAgent, common + "2", 1))).Result.IsAcquired.Should().BeTrue();
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(perAgent, common + "1", 1))).Result.IsAcquired.Should().BeFalse();
    }

    private static PolicyEvaluator Evaluator(string prefix, FakeTimeProvider time, string limit) =>
        new(PolicyDocument.Parse($$"""
            { "version": "1", "default": "allow", "tools": { "refund": { "limits": [ {{limit}} ] } } }
            """), new PolicyEvaluatorOptions
        {
            TimeProvider = time,
            CounterStore = RedisCounterStoreTests.CreateStore(time, prefix),
        });
}
