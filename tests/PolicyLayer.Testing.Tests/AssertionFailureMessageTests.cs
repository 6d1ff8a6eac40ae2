using FluentAssertions.Execution;

namespace PolicyLayer.Testing.Tests;

/// <summary>The assertions fail when they should, and their messages show the decision that was made and why.</summary>
public class AssertionFailureMessageTests
{
    private PolicyTestHarness _harness = null!;

    [SetUp]
    public void CreateHarness() => _harness = PolicyTestHarness.FromJson(TestPolicies.Shop);

    [TearDown]
    public void DisposeHarness() => _harness.Dispose();

    [Test]
    public async Task BeAllowed_OnADeniedCall_FailsWithTheRuleAndReason()
    {
        var decision = await _harness.AsGrant("g").CallAsync("delete_flow");

        var act = () => decision.Should().BeAllowed("agents may {0} flows", "delete");

        act.Should().Throw<AssertionException>().Which.Message.Should()
            .Contain("Expected decision to be allowed because agents may delete flows, but it was denied by /tools/delete_*")
            .And.Contain("reason: \"Deleting is done by people, not agents.\"");
    }

    [Test]
    public async Task BeDenied_OnAnAllowedCall_FailsAndNamesTheAllowingRule()
    {
        var decision = await _harness.AsGrant("g").CallAsync("list_flows");

        var act = () => decision.Should().BeDenied();

        act.Should().Throw<AssertionException>().WithMessage("Expected decision to be denied, but it was allowed by /tools/list_*");
    }

    [Test]
    public async Task BeRateLimited_OnADenialWithoutRetry_Fails()
    {
        var decision = await _harness.AsGrant("g").CallAsync("delete_flow");

        var act = () => decision.Should().BeRateLimited();

        act.Should().Throw<AssertionException>().Which.Message.Should()
            .StartWith("Expected decision to be rate limited (denied with a retry time), but it was denied by /tools/delete_*");
    }

    [Test]
    public async Task WithRetryAfter_WrongTime_FailsWithBothTimes()
    {
        await _harness.AsGrant("g").CallAsync("add_execution_labels", times: 30);
        _harness.Advance(TimeSpan.FromSeconds(15));
        var decision = await _harness.AsGrant("g").CallAsync("add_execution_labels");

        decision.Should().BeRateLimited().WithRetryAfter(TimeSpan.FromSeconds(45));
        var act = () => decision.Should().BeRateLimited().WithRetryAfter(TimeSpan.FromSeconds(60));

        act.Should().Throw<AssertionException>().Which.Message.Should()
            .Contain("to have a retry time of 60 s, but it was 45 s")
            .And.Contain("denied by /tools/add_execution_labels/limits/0")
            .And.Contain("counter 'labels' allows 30 per 1 min per grant");
    }

    [Test]
    public async Task WithRetryAfter_WithinPrecision_Passes()
    {
        await _harness.AsGrant("g").CallAsync("add_execution_labels", times: 30);
        _harness.Advance(TimeSpan.FromMilliseconds(300));

        (await _harness.AsGrant("g").CallAsync("add_execution_labels")).Should().BeRateLimited()
            .WithRetryAfter(TimeSpan.FromSeconds(60), precision: TimeSpan.FromSeconds(1));
    }

    [Test]
    public async Task BeDecidedBy_WrongRule_FailsWithExpectedAndActualRule()
    {
        var decision = await _harness.AsGrant("g").CallAsync("unknown_tool");

        var act = () => decision.Should().BeDenied().And.BeDecidedBy("/tools/unknown_tool");

        act.Should().Throw<AssertionException>().Which.Message.Should()
            .Contain("to be decided by \"/tools/unknown_tool\", but it was denied by (default)")
            .And.Contain("the policy's default is deny");
    }

    [Test]
    public async Task WithReasonContaining_MissingText_FailsAndPrintsTheReason()
    {
        var decision = await _harness.AsGrant("g").CallAsync("execute_flow");

        var act = () => decision.Should().RequireApproval().WithReasonContaining("staging");

        act.Should().Throw<AssertionException>().Which.Message.Should()
            .Contain("to contain \"staging\"")
            .And.Contain("approval required by /tools/execute_flow (reason: \"Runs a production workflow.\"");
    }

    [Test]
    public async Task HaveRemaining_OnAToolWithoutThatCounter_SaysItDidNotCount()
    {
        var decision = await _harness.AsGrant("g").CallAsync("list_flows");

        var act = () => decision.Should().HaveRemaining("labels", 29);

        act.Should().Throw<AssertionException>().WithMessage("*counter \"labels\"*did not count against it*");
    }

    [Test]
    public async Task HaveRiskCategory_Mismatch_FailsWithTheRisk()
    {
        var decision = await _harness.AsGrant("g").CallAsync("create_refund", new { amount = 1, reason = "r" });

        decision.Should().HaveRiskCategory(RiskCategory.Financial);
        var act = () => decision.Should().HaveRiskCategory(RiskCategory.Read);

        act.Should().Throw<AssertionException>().WithMessage("*to carry risk Read, but*risk Financial/Critical*");
    }

    [Test]
    public async Task AllBeAllowed_WhenALimitBites_NamesTheFirstRefusedCallAndCounts()
    {
        var decisions = await _harness.AsGrant("g").CallAsync("add_execution_labels", times: 32);

        var act = () => decisions.Should().AllBeAllowed();

        act.Should().Throw<AssertionException>().Which.Message.Should()
            .Contain("Expected all 32 calls of \"add_execution_labels\" in decisions to be allowed, but call 31 of 32 was denied by /tools/add_execution_labels/limits/0")
            .And.Contain("32 calls of add_execution_labels: 30 allowed, 2 denied, 0 held for approval");
    }

    [Test]
    public async Task AllowFirst_WrongCount_NamesTheCallThatBrokeTheShape()
    {
        var decisions = await _harness.AsGrant("g").CallAsync("add_execution_labels", times: 31);

        decisions.Should().AllowFirst(30);
        var act = () => decisions.Should().AllowFirst(10);

        act.Should().Throw<AssertionException>().WithMessage("*first 10 calls*but call 11 of 31 was allowed by /tools/add_execution_labels*");
    }

    [Test]
    public void BeCategory_Mismatch_FailsWithTheEvidence()
    {
        var risk = _harness.Classify("create_refund");

        var act = () => risk.Should().BeCategory(RiskCategory.Read);

        act.Should().Throw<AssertionException>().WithMessage("Expected risk to be Read, but it was Financial/Critical (evidence: the policy's classify section says Financial*");
    }

    [Test]
    public async Task InsideAnAssertionScope_EveryFailureIsReportedTogether()
    {
        var decision = await _harness.AsGrant("g").CallAsync("list_flows");

        var act = () =>
        {
            using var scope = new AssertionScope();
            decision.Should().BeDenied();
            decision.Should().BeDecidedBy("(default)");
        };

        act.Should().Throw<AssertionException>().Which.Message.Should()
            .Contain("to be denied").And.Contain("to be decided by \"(default)\"");
    }
}
