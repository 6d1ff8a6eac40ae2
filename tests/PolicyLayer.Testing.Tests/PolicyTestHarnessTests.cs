using PolicyLayer.TestUtils;

namespace PolicyLayer.Testing.Tests;

public class PolicyTestHarnessTests
{
    [Test]
    public async Task CallAsync_ThirtyFirstCallInAMinute_IsRateLimitedUntilTheWindowSlides()
    {
        using var harness = PolicyTestHarness.FromJson(TestPolicies.Shop);
        var grant = harness.AsGrant("grant-1");

        (await grant.CallAsync("add_execution_labels", times: 30)).Should().AllBeAllowed();
        (await grant.CallAsync("add_execution_labels")).Should().BeRateLimited()
            .WithRetryAfter(TimeSpan.FromSeconds(60))
            .And.BeDecidedBy("/tools/add_execution_labels/limits/0");

        harness.Advance(TimeSpan.FromSeconds(59));
        (await grant.CallAsync("add_execution_labels")).Should().BeRateLimited().WithRetryAfter(TimeSpan.FromSeconds(1));

        harness.Advance(TimeSpan.FromSeconds(1));
        (await grant.CallAsync("add_execution_labels")).Should().BeAllowed().And.HaveRemaining("labels", 29, "the 30 calls of a minute ago have left the window");
    }

    [Test]
    public async Task CallAsync_TimesWithInterval_MovesTheClockBetweenCalls()
    {
        using var harness = PolicyTestHarness.FromJson(TestPolicies.Shop);
        var start = harness.Now;

        // 40 calls 2 s apart span 78 s: the window of 60 s never holds more than 30 of them.
        var decisions = await harness.AsGrant("g").CallAsync("add_execution_labels", times: 40, interval: TimeSpan.FromSeconds(2));

        decisions.Should().AllBeAllowed();
        (harness.Now - start).Should().Be(TimeSpan.FromSeconds(78));
    }

    [Test]
    public async Task Grants_AreCountedApart()
    {
        using var harness = PolicyTestHarness.FromJson(TestPolicies.Shop);

        (await harness.AsGrant("a").CallAsync("add_execution_labels", times: 31)).Should().AllowFirst(30);
        (await harness.AsGrant("b").CallAsync("add_execution_labels")).Should().BeAllowed();
    }

    [Test]
    public async Task CallAsync_WithoutTheScopesId_IsDeniedWithTheReason()
    {
        using var harness = PolicyTestHarness.FromJson(TestPolicies.Shop);

        (await harness.AsSession("s").WithGrant(null).CallAsync("add_execution_labels")).Should().BeDenied()
            .WithReasonContaining("no grant id");
    }

    [Test]
    public async Task CallAsync_Arguments_AsAnonymousObjectOrJsonText_ReachTheConditions()
    {
        using var harness = PolicyTestHarness.FromJson(TestPolicies.Shop);
        var grant = harness.AsGrant("g");

        (await grant.CallAsync("create_refund", new { amount = 100, reason = "broken" })).Should().BeAllowed().By("/tools/create_refund");
        (await grant.CallAsync("create_refund", """{ "amount": 6000, "reason": "late" }""")).Should().RequireApproval()
            .By("/tools/create_refund/require_approval_if/0");
        (await grant.CallApprovedAsync("create_refund", new { amount = 6000, reason = "late" })).Should().BeAllowed();
        (await grant.CallAsync("create_refund", new { amount = 20000, reason = "x" })).Should().BeDenied()
            .WithReasonContaining("done by people").And.BeDecidedBy("/tools/create_refund/deny_if/0");
        (await grant.CallAsync("create_refund", new { amount = 1 })).Should().BeDenied().By("/tools/create_refund/require/0");
    }

    [Test]
    public void CallAsync_ArgumentsThatAreNotAnObject_AreRefusedWithAClearError()
    {
        using var harness = PolicyTestHarness.FromJson(TestPolicies.Shop);

        var act = () => harness.AsGrant("g").CallAsync("create_refund", "[1, 2]");

        act.Should().ThrowAsync<ArgumentException>().WithMessage("*JSON object*").GetAwaiter().GetResult();
    }

    [Test]
    public async Task HiddenGlobAndDefault_AreNamedAsTheDecidingRule()
    {
        using var harness = PolicyTestHarness.FromJson(TestPolicies.Shop);
        var grant = harness.AsGrant("g");

        (await grant.CallAsync("drop_database")).Should().BeDenied().By(RuleIds.Hidden);
        (await grant.CallAsync("delete_flow", new { id = "x" })).Should().BeDenied()
            .WithReasonContaining("Deleting is done by people").And.BeDecidedBy("/tools/delete_*");
        (await grant.CallAsync("list_flows")).Should().BeAllowed().By("/tools/list_*");
        (await grant.CallAsync("unknown_tool")).Should().BeDenied().By(RuleIds.Default);
        (await grant.CallAsync("execute_flow")).Should().RequireApproval().WithReasonContaining("production workflow");
    }

    [Test]
    public void Classify_UsesThePolicysClassifySection()
    {
        using var harness = PolicyTestHarness.FromJson(TestPolicies.Shop);

        harness.Classify("create_refund").Should().BeCategory(RiskCategory.Financial).And.HaveLevel(RiskLevel.Critical)
            .And.HaveEvidenceContaining("classify");
        harness.Classify(new ToolDescriptor("purge_cache", "Purges the cache")).Should().BeCategory(RiskCategory.Destructive);
    }

    [Test]
    public void IsListed_HidesHiddenAndDeniedTools()
    {
        using var harness = PolicyTestHarness.FromJson(TestPolicies.Shop);

        harness.IsListed("drop_database").Should().BeFalse();
        harness.IsListed("delete_flow").Should().BeFalse();
        harness.IsListed("list_flows").Should().BeTrue();
    }

    [Test]
    public async Task Load_SamplePolicyFile_CapsLabelsPerGrant()
    {
        using var harness = PolicyTestHarness.Load(RepositoryPaths.SamplePolicy("kestra.policy.json"));

        (await harness.AsGrant("g").CallAsync("add_execution_labels", times: 31)).Should().AllowFirst(30);
    }

    [Test]
    public void FromJson_InvalidPolicy_ThrowsWithEveryError()
    {
        var act = () => PolicyTestHarness.FromJson("""{ "version": "1", "default": "maybe" }""");

        act.Should().Throw<PolicyValidationException>().Which.Errors.Should().ContainSingle(e => e.Path.Contains("default"));
    }

    [Test]
    public void Options_StartTime_SetsTheClock()
    {
        var start = new DateTimeOffset(2030, 6, 1, 0, 0, 0, TimeSpan.Zero);
        using var harness = PolicyTestHarness.FromJson(TestPolicies.Shop, new PolicyTestHarnessOptions { StartTime = start });

        harness.Now.Should().Be(start);
        harness.Invoking(h => h.Advance(TimeSpan.FromSeconds(-1))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public async Task WithClaim_ReachesCallerClaimConditions()
    {
        using var harness = PolicyTestHarness.FromJson("""
            { "version": "1", "tools": { "refund": { "deny_if": [ { "conditions": [
              { "path": "caller.claims.role", "op": "contains", "value": "contractor" }, { "path": "args.amount", "op": "gt", "value": 100 } ],
              "on_deny": "Contractors may refund up to 100." } ] } } }
            """);

        (await harness.AsGrant("g").WithClaim("role", "contractor").CallAsync("refund", new { amount = 101 })).Should().BeDenied()
            .WithReasonContaining("Contractors may refund up to 100.");
        (await harness.AsGrant("g").WithClaim("role", "finance", "approver").CallAsync("refund", new { amount = 101 })).Should().BeAllowed();
        (await harness.AsGrant("g").WithClaim("role", "contractor").WithClaim("role").CallAsync("refund", new { amount = 101 })).Should().BeDenied()
            .WithReasonContaining("caller.claims.role is missing");
    }

    [Test]
    public void AsMethods_StartFromTheDefaultCaller_AndReplaceOneId()
    {
        using var harness = PolicyTestHarness.FromJson("""{ "version": "1" }""");

        harness.AsSession("s").Identity.GrantId.Should().Be("grant-1");
        harness.AsUser("u").Identity.SessionId.Should().Be("session-1");
        harness.AsGrant("g").Identity.SessionId.Should().Be("session-1");
        harness.AsAgent("a").Identity.GrantId.Should().Be("grant-1");
    }
}
