using PolicyLayer.TestUtils;

namespace PolicyLayer.Core.Tests.Evaluation;

/// <summary>The sample policy: Kestra's add_execution_labels, 30 calls a minute per grant; everything else denied.</summary>
public class SamplePolicyTests : EvaluatorTestBase
{
    private PolicyEvaluator _evaluator = null!;

    [SetUp]
    public void Load() =>
        _evaluator = new PolicyEvaluator(
            PolicyDocument.Load(RepositoryPaths.SamplePolicy("kestra.policy.json")),
            new PolicyEvaluatorOptions { TimeProvider = Time });

    [TearDown]
    public void Dispose() => _evaluator.Dispose();

    private async Task<PolicyDecision> Label(string grant = "grant-1") =>
        await _evaluator.EvaluateAsync(Call("add_execution_labels", grant));

    [Test]
    public async Task Evaluate_ThirtyCallsInAMinute_AreAllowed()
    {
        for (var i = 0; i < 30; i++)
        {
            var decision = await Label();
            decision.Outcome.Should().Be(PolicyOutcome.Allow, $"call {i + 1} is within the budget");
            decision.RuleId.Should().Be("/tools/add_execution_labels");
            decision.Counters.Should().ContainSingle().Which.Remaining.Should().Be(29 - i);
            Time.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Test]
    public async Task Evaluate_ThirtyFirstCallInAMinute_IsRateLimitedWithExactRetryAfter()
    {
        // Calls at 0 s, 1 s, ..., 29 s; the 31st at 30.250 s. The oldest leaves the window at 60 s.
        for (var i = 0; i < 30; i++)
        {
            (await Label()).IsAllowed.Should().BeTrue();
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        Time.Advance(TimeSpan.FromMilliseconds(250));
        var refused = await Label();

        refused.Outcome.Should().Be(PolicyOutcome.Deny);
        refused.RuleId.Should().Be("/tools/add_execution_labels/limits/0");
        refused.RetryAfter.Should().Be(TimeSpan.FromMilliseconds(29_750));
        refused.Reason.Should().Contain("add_execution_labels_rate").And.Contain("30 per 1 min per grant");
    }

    [Test]
    public async Task Evaluate_AnotherGrant_HasItsOwnBudget()
    {
        for (var i = 0; i < 30; i++)
        {
            await Label("grant-1");
        }

        (await Label("grant-1")).IsAllowed.Should().BeFalse();
        (await Label("grant-2")).IsAllowed.Should().BeTrue();
    }

    [Test]
    public async Task Evaluate_AfterTheOldestCallLeavesTheWindow_IsAllowedAgain_NotAtTheCalendarMinute()
    {
        // Start at 12:00:59.500: a fixed-window limiter would reset at 12:01:00, half a second later.
        Time.Advance(TimeSpan.FromMilliseconds(59_500));
        for (var i = 0; i < 30; i++)
        {
            (await Label()).IsAllowed.Should().BeTrue();
        }

        Time.Advance(TimeSpan.FromMilliseconds(500)); // 12:01:00.000, the calendar minute.
        var atCalendarMinute = await Label();
        atCalendarMinute.IsAllowed.Should().BeFalse("a sliding window still holds all 30 calls");
        atCalendarMinute.RetryAfter.Should().Be(TimeSpan.FromSeconds(59.5));

        Time.Advance(TimeSpan.FromMilliseconds(59_499));
        (await Label()).IsAllowed.Should().BeFalse("one millisecond before the oldest call leaves the window");

        Time.Advance(TimeSpan.FromMilliseconds(1));
        (await Label()).IsAllowed.Should().BeTrue("the oldest call left the window exactly now");
    }

    [Test]
    public async Task Evaluate_ToolWithNoRule_IsDeniedByDefault()
    {
        var decision = await _evaluator.EvaluateAsync(Call("delete_flow"));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.RuleId.Should().Be("(default)");
        decision.Reason.Should().Contain("delete_flow").And.Contain("default is deny");
    }

    [Test]
    public async Task Evaluate_CallerWithoutGrant_IsRefusedAndNamesTheMissingIdentity()
    {
        var decision = await _evaluator.EvaluateAsync(Call("add_execution_labels", grant: null));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.RuleId.Should().Be("/tools/add_execution_labels/limits/0");
        decision.Reason.Should().Contain("per grant").And.Contain("no grant id");
    }

    [Test]
    public async Task Evaluate_RefusedCalls_CostNothing()
    {
        for (var i = 0; i < 30; i++)
        {
            await Label();
        }

        for (var i = 0; i < 10; i++)
        {
            (await Label()).IsAllowed.Should().BeFalse();
        }

        // The 10 refusals took nothing: the budget frees up exactly a window after the first 30.
        Time.Advance(TimeSpan.FromMinutes(1));
        for (var i = 0; i < 30; i++)
        {
            (await Label()).IsAllowed.Should().BeTrue($"call {i + 1} of the next window");
        }
    }

    [Test]
    public async Task ReleaseAsync_AfterTheToolFailed_GivesTheUnitBack()
    {
        PolicyDecision last = default;
        for (var i = 0; i < 30; i++)
        {
            last = await Label();
        }

        last.HoldsReservation.Should().BeTrue();
        await last.ReleaseAsync();

        (await Label()).IsAllowed.Should().BeTrue("the failed call's unit was given back");
        (await Label()).IsAllowed.Should().BeFalse();
    }
}
