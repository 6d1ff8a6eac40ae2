using PolicyLayer.Evaluation;

using PolicyLayer.Core.Tests.Counters;

namespace PolicyLayer.Core.Tests.Evaluation;

/// <summary>
/// Tool names and scope ids are chosen by clients: what the evaluator and the in-memory store keep of them is bounded
/// in bytes, whatever their number and length. Memory is measured with forced collections, with generous margins.
/// </summary>
[NonParallelizable]
public sealed class ClientChosenStringTests : EvaluatorTestBase
{
    private const string AllowAll = """{ "version": "1", "default": "allow" }""";

    [Test]
    public async Task Evaluate_ToolNameLongerThanTheLimit_IsRefusedWithItsLength_NeverQuotingIt()
    {
        using var evaluator = Evaluator(AllowAll);
        var name = new string('a', EvaluatorState.MaxToolNameLength + 1);

        var decision = await evaluator.EvaluateAsync(Call(name));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.RuleId.Should().Be(RuleIds.InvalidName);
        decision.Reason.Should().Contain($"{EvaluatorState.MaxToolNameLength + 1} characters").And.NotContain(name);
        evaluator.IsListed(new ToolDescriptor(name)).Should().BeFalse();
        (await evaluator.EvaluateAsync(Call(name[1..]))).IsAllowed.Should().BeTrue("a name at the limit is decided as usual");
    }

    [Test]
    public async Task Evaluate_ManyHugeRefusedToolNames_KeepNoneOfThem()
    {
        using var evaluator = Evaluator("""{ "version": "1", "default": "deny" }""");
        await evaluator.EvaluateAsync(Call("warm-up"));
        var before = GC.GetTotalMemory(forceFullCollection: true);

        for (var i = 0; i < 40; i++)
        {
            var name = new string((char)('a' + (i % 26)), 1_000_000) + i;
            (await evaluator.EvaluateAsync(Call(name))).IsAllowed.Should().BeFalse();
        }

        var retained = GC.GetTotalMemory(forceFullCollection: true) - before;
        retained.Should().BeLessThan(4 * 1024 * 1024, "40 names of 1 M characters (80 MB) must not be kept");
        GC.KeepAlive(evaluator);
    }

    [Test]
    public async Task Evaluate_ManyDistinctNamesAtTheLengthLimit_KeepTheNameCacheWithinItsByteBudget()
    {
        using var evaluator = Evaluator(AllowAll);
        await evaluator.EvaluateAsync(Call("warm-up"));
        var before = GC.GetTotalMemory(forceFullCollection: true);

        for (var i = 0; i < 20_000; i++)
        {
            var name = i.ToString("D8", System.Globalization.CultureInfo.InvariantCulture) + new string('x', EvaluatorState.MaxToolNameLength - 8);
            (await evaluator.EvaluateAsync(Call(name))).IsAllowed.Should().BeTrue();
        }

        var retained = GC.GetTotalMemory(forceFullCollection: true) - before;
        retained.Should().BeLessThan(2 * EvaluatorState.ResolutionCacheBytes, "the cache is bounded by bytes, not by its 20,000 entries");
        GC.KeepAlive(evaluator);
    }

    [Test]
    public void Reserve_HugeScopeIds_AreKeptAsHashes()
    {
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = Time, IdleSweepInterval = Timeout.InfiniteTimeSpan });
        var counter = new CounterDefinition("per-agent", 1, TimeSpan.FromHours(1), CounterScope.Agent);
        var before = GC.GetTotalMemory(forceFullCollection: true);

        ReserveHugeAgentIds(store, counter, 100);

        var retained = GC.GetTotalMemory(forceFullCollection: true) - before;
        retained.Should().BeLessThan(2 * 1024 * 1024, "100 agent ids of 1 M characters (200 MB) must not be kept");
        store.WindowCount.Should().Be(100);
    }

    // A method of its own, not inlined, so that no local of the loop outlives it.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void ReserveHugeAgentIds(InMemoryCounterStore store, CounterDefinition counter, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var agent = new string((char)('a' + (i % 26)), 1_000_000) + i;
            Reserve(store, counter, agent).IsAcquired.Should().BeTrue();
            Reserve(store, counter, agent).IsAcquired.Should().BeFalse("the hashed key still counts the agent");
        }
    }

    private static CounterReservationResult Reserve(InMemoryCounterStore store, CounterDefinition counter, string key) =>
        store.TryReserveAsync(new[] { new CounterRequest(counter, key, 1) }, new CounterBudget[1]).Completed();

    [Test]
    public async Task Evaluate_NewScopePastTheStoresMaxLiveCounters_IsRefusedEvenUnderFailOpen()
    {
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = Time, MaxLiveCounters = 2 });
        using var evaluator = Evaluator(
            """{ "version": "1", "tools": { "t": { "limits": [ { "counter": "c", "window": "minute", "max": 5, "scope": "session" } ] } } }""",
            store,
            mode: CounterStoreFailureMode.FailOpen);

        (await evaluator.EvaluateAsync(Call("t", session: "s1"))).IsAllowed.Should().BeTrue();
        (await evaluator.EvaluateAsync(Call("t", session: "s2"))).IsAllowed.Should().BeTrue();
        var refused = await evaluator.EvaluateAsync(Call("t", session: "s3"));

        refused.Outcome.Should().Be(PolicyOutcome.Deny);
        refused.Reason.Should().Contain("MaxLiveCounters");
        (await evaluator.EvaluateAsync(Call("t", session: "s1"))).IsAllowed.Should().BeTrue();
    }

    [Test]
    public async Task Reserve_AShortKeyThatSpellsALongKeysHash_CountsApartFromIt()
    {
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = Time, IdleSweepInterval = Timeout.InfiniteTimeSpan });
        var counter = new CounterDefinition("per-agent", 1, TimeSpan.FromHours(1), CounterScope.Agent);
        var longKey = new string('k', CounterTable.MaxStoredKeyLength + 1);
        var forged = CounterTable.StoredKey(longKey);
        forged.Length.Should().BeLessThanOrEqualTo(CounterTable.MaxStoredKeyLength);

        (await store.TryReserveAsync(new[] { new CounterRequest(counter, longKey, 1) }, new CounterBudget[1])).IsAcquired.Should().BeTrue();

        (await store.TryReserveAsync(new[] { new CounterRequest(counter, forged, 1) }, new CounterBudget[1])).IsAcquired.Should().BeTrue("a key that spells a hash is hashed itself");
        CounterTable.StoredKey(forged).Should().NotBe(forged);
    }
}
