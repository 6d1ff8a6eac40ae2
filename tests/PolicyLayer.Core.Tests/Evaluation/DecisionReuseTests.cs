namespace PolicyLayer.Core.Tests.Evaluation;

/// <summary>
/// Decisions share their unchanging parts between calls of a tool (so that repeated decisions allocate nothing);
/// these tests make sure that sharing never lends one call another call's risk, rule, store or budget.
/// </summary>
public class DecisionReuseTests : EvaluatorTestBase
{
    [Test]
    public async Task Evaluate_OneToolWithDescriptorsOfDifferentRisk_EachDecisionCarriesItsOwnRisk()
    {
        using var evaluator = Evaluator("""{ "version": "1", "tools": { "report_*": { "limits": [ { "counter": "c", "window": "minute", "max": 100, "scope": "grant" } ] } } }""");
        var harmless = new ToolDescriptor("report_items", "Lists the items of a report.", new ToolAnnotations { ReadOnlyHint = true });
        var dangerous = new ToolDescriptor("report_items", "Deletes every item of a report.", new ToolAnnotations { DestructiveHint = true, ReadOnlyHint = false });

        for (var i = 0; i < 3; i++)
        {
            var read = await evaluator.EvaluateAsync(Call("report_items", descriptor: harmless));
            var destroy = await evaluator.EvaluateAsync(Call("report_items", descriptor: dangerous));

            read.Risk!.Category.Should().Be(RiskCategory.Read);
            destroy.Risk!.Category.Should().Be(RiskCategory.Destructive);
            read.RuleId.Should().Be("/tools/report_*");
            read.HoldsReservation.Should().BeTrue();
        }
    }

    [Test]
    public async Task Evaluate_RepeatedAllowedCalls_EachCarriesItsOwnBudget()
    {
        using var evaluator = Evaluator("""{ "version": "1", "tools": { "t": { "limits": [ { "counter": "c", "window": "minute", "max": 5, "scope": "grant" } ] } } }""");

        var first = await evaluator.EvaluateAsync(Call("t", grant: "a"));
        var second = await evaluator.EvaluateAsync(Call("t", grant: "a"));
        var other = await evaluator.EvaluateAsync(Call("t", grant: "b"));

        first.Counters[0].Remaining.Should().Be(4);
        second.Counters[0].Remaining.Should().Be(3);
        other.Counters[0].Remaining.Should().Be(4);
        other.Counters[0].ScopeKey.Should().Be("b");
        first.Reason.Should().BeSameAs(second.Reason, "the allowed text is the rule's own, made once");
    }

    [Test]
    public async Task Evaluate_DeniedThenAllowedByAnotherPolicy_NeverReusesTheOldDecision()
    {
        using var evaluator = Evaluator("""{ "version": "1", "default": "deny" }""");
        (await evaluator.EvaluateAsync(Call("t"))).Outcome.Should().Be(PolicyOutcome.Deny);

        evaluator.UpdatePolicy(PolicyDocument.Parse("""{ "version": "1", "default": "allow" }"""));
        var allowed = await evaluator.EvaluateAsync(Call("t"));

        allowed.Outcome.Should().Be(PolicyOutcome.Allow);
        allowed.RuleId.Should().Be("(default)");
        allowed.HoldsReservation.Should().BeFalse();
    }

    [Test]
    public async Task Evaluate_RateLimitedCall_HasItsOwnRetryAfterEachTime()
    {
        using var evaluator = Evaluator("""{ "version": "1", "tools": { "t": { "limits": [ { "counter": "c", "window": "minute", "max": 1, "scope": "grant" } ] } } }""");
        (await evaluator.EvaluateAsync(Call("t"))).IsAllowed.Should().BeTrue();

        var early = await evaluator.EvaluateAsync(Call("t"));
        Time.Advance(TimeSpan.FromSeconds(20));
        var later = await evaluator.EvaluateAsync(Call("t"));

        early.RetryAfter.Should().Be(TimeSpan.FromSeconds(60));
        later.RetryAfter.Should().Be(TimeSpan.FromSeconds(40));
    }

    [Test]
    public void DefaultDecision_ReadsAsEmptyWithoutThrowing()
    {
        var decision = default(PolicyDecision);

        decision.IsAllowed.Should().Be(default(PolicyOutcome) == PolicyOutcome.Allow);
        decision.Counters.Count.Should().Be(0);
        decision.HoldsReservation.Should().BeFalse();
        decision.IsShadowed.Should().BeFalse();
        decision.RetryAfter.Should().BeNull();
    }
}

/// <summary>
/// The evaluator reserves a single counter in its own in-memory store directly, and every other case through
/// <see cref="CounterStore.TryReserveAsync"/>; both paths must behave alike at their edges.
/// </summary>
public class SingleCounterPathTests : EvaluatorTestBase
{
    private const string OneLimit = """{ "version": "1", "tools": { "t": { "limits": [ { "counter": "c", "window": "minute", "max": 2, "scope": "grant" } ] } } }""";

    [TestCase(false, TestName = "Evaluate_CancelledToken_OneCounterInMemory_IsCancelledAndCountsNothing")]
    [TestCase(true, TestName = "Evaluate_CancelledToken_ThroughTheStoreApi_IsCancelledAndCountsNothing")]
    public async Task Evaluate_CancelledToken_IsCancelledAndCountsNothing(bool throughStoreApi)
    {
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = Time });
        using var evaluator = Evaluator(OneLimit, throughStoreApi ? new ForwardingStore(store) : store);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var pending = evaluator.EvaluateAsync(Call("t"), cancelled.Token);

        await pending.Invoking(async p => await p).Should().ThrowAsync<OperationCanceledException>();
        (await evaluator.EvaluateAsync(Call("t"))).Counters[0].Remaining.Should().Be(1, "the cancelled call counted nothing");
    }

    [TestCase(false, TestName = "Evaluate_DisposedStore_OneCounterInMemory_IsRefusedFailClosed")]
    [TestCase(true, TestName = "Evaluate_DisposedStore_ThroughTheStoreApi_IsRefusedFailClosed")]
    public async Task Evaluate_DisposedStore_IsRefusedFailClosed(bool throughStoreApi)
    {
        var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = Time });
        using var evaluator = Evaluator(OneLimit, throughStoreApi ? new ForwardingStore(store) : store);
        store.Dispose();

        var decision = await evaluator.EvaluateAsync(Call("t"));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.RuleId.Should().Be(RuleIds.Error);
        decision.Reason.Should().Contain("The counter store failed").And.Contain("ObjectDisposedException");
    }

    [TestCase(false, TestName = "Evaluate_ThirdCallOfTwo_OneCounterInMemory_IsRateLimitedWithTheSameWords")]
    [TestCase(true, TestName = "Evaluate_ThirdCallOfTwo_ThroughTheStoreApi_IsRateLimitedWithTheSameWords")]
    public async Task Evaluate_ThirdCallOfTwo_IsRateLimitedWithTheSameWords(bool throughStoreApi)
    {
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = Time });
        using var evaluator = Evaluator(OneLimit, throughStoreApi ? new ForwardingStore(store) : store);
        await evaluator.EvaluateAsync(Call("t"));
        Time.Advance(TimeSpan.FromSeconds(10));
        await evaluator.EvaluateAsync(Call("t"));

        var third = await evaluator.EvaluateAsync(Call("t"));

        third.Outcome.Should().Be(PolicyOutcome.Deny);
        third.RuleId.Should().Be("/tools/t/limits/0");
        third.RetryAfter.Should().Be(TimeSpan.FromSeconds(50));
        third.Reason.Should().Be("Rate limit reached: counter 'c' allows 2 per 1 min per grant; retry after 50 s.");
        third.Counters[0].Remaining.Should().Be(0);
        third.HoldsReservation.Should().BeFalse();
    }

    /// <summary>A store that is not the built-in type, so that the evaluator goes through the abstract API.</summary>
    private sealed class ForwardingStore(CounterStore inner) : CounterStore
    {
        public override ValueTask<CounterReservationResult> TryReserveAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default) =>
            inner.TryReserveAsync(requests, budgets, cancellationToken);

        public override ValueTask ReleaseAsync(ReadOnlyMemory<CounterBudget> reserved, CancellationToken cancellationToken = default) =>
            inner.ReleaseAsync(reserved, cancellationToken);

        public override ValueTask GetBudgetsAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default) =>
            inner.GetBudgetsAsync(requests, budgets, cancellationToken);
    }
}
