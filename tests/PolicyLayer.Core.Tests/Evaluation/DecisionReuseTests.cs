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
