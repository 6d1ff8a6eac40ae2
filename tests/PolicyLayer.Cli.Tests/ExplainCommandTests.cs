namespace PolicyLayer.Cli.Tests;

[Category(Policylayer.ProcessLevel)]
public class ExplainCommandTests
{
    [Test]
    public async Task Explain_RefundNeedingApproval_ShowsTheDecidingConditionAndEveryConditionsResult()
    {
        var result = await Policylayer.RunAsync(
            "explain", Policylayer.Sample("shop.policy.json"), "--tool", "create_refund", "--args", """{"amount": 6000, "reason": "late"}""", "--grant", "bot");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("Decision:  require_approval")
            .And.Contain("Rule:      /tools/create_refund/require_approval_if/0")
            .And.Contain("Risk:      Financial/Critical");
        Lines(result.Out).Should().ContainInOrder(
            "[no match]     hide",
            "[decides]      /tools/create_refund",
            "[passes]       /tools/create_refund/require/0",
            "require args.reason exists: true; holds.",
            "[no match]     /tools/create_refund/deny_if/0",
            "deny_if args.amount gt 10000: false; does not refuse.",
            "[decides]      /tools/create_refund/require_approval_if/0",
            "require_approval_if args.amount gt 5000: true; holds the call for approval.",
            "[info]         /tools/create_refund/limits/0",
            "[info]         /all_tools/limits/0",
            "[not reached]  /risk/financial",
            "[not reached]  (default)");
    }

    [Test]
    public async Task Explain_SeveralGlobsMatch_TheMostSpecificDecidesAndTheOthersAreListedAsNotUsed()
    {
        var policy = await TempPolicy("""
            { "version": "1", "tools": { "*": {}, "delete_*": { "action": "deny", "reason": "No deleting." }, "delete_*_draft": {} } }
            """);

        var result = await Policylayer.RunAsync("explain", policy, "--tool", "delete_flow_draft");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("Decision:  allow").And.Contain("Rule:      /tools/delete_*_draft");
        Lines(result.Out).Should().ContainInOrder(
            "[decides]      /tools/delete_*_draft",
            "glob 'delete_*_draft' matches: this rule applies.",
            "[not used]     /tools/delete_*",
            "[not used]     /tools/*");
    }

    [Test]
    public async Task Explain_HiddenTool_HideDecidesAndNothingElseIsReached()
    {
        var result = await Policylayer.RunAsync("explain", Policylayer.Sample("shop.policy.json"), "--tool", "delete_account");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("Decision:  deny").And.Contain("Rule:      (hidden)");
        Lines(result.Out).Should().ContainInOrder("[decides]      hide", "[not reached]  /tools/delete_*");
    }

    [Test]
    public async Task Explain_NoRuleAndNoRiskRule_TheDefaultDecides()
    {
        var result = await Policylayer.RunAsync("explain", Policylayer.Sample("kestra.policy.json"), "--tool", "create_flow");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("Rule:      (default)");
        Lines(result.Out).Should().ContainInOrder("no rule in tools names or matches 'create_flow'.", "[decides]      (default)", "no rule matches: the default, deny, applies.");
    }

    [Test]
    public async Task Explain_LimitOfAScopeTheCallerLacks_SaysSo()
    {
        var result = await Policylayer.RunAsync("explain", Policylayer.Sample("kestra.policy.json"), "--tool", "add_execution_labels");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("Decision:  deny").And.Contain("the caller has no grant id, so the call is refused.");
    }

    [Test]
    public async Task Explain_ArgsThatAreNotAnObject_IsAUsageError()
    {
        var result = await Policylayer.RunAsync("explain", Policylayer.Sample("shop.policy.json"), "--tool", "create_refund", "--args", "[1]");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Err.Should().Contain("--args must be a JSON object");
    }

    [Test]
    public async Task Explain_InvalidPolicy_PrintsItsErrorsAndExitsOne()
    {
        var policy = await TempPolicy("""{ "version": "9" }""");

        var result = await Policylayer.RunAsync("explain", policy, "--tool", "x");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Err.Should().StartWith(policy + ":1:");
    }

    private static string[] Lines(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Test]
    public async Task Explain_HostedPredicateOnClaims_ReasonAndStepsAgreeWithTheDecision()
    {
        var policy = await TempPolicy("""
            { "version": "1", "tools": { "refund": { "deny_if": [ { "conditions": [
              { "path": "caller.claims.role", "op": "contains", "value": "contractor" }, { "path": "args.amount", "op": "gt", "value": 100 } ],
              "on_deny": "Contractors may refund up to 100." } ] } } }
            """);

        var contractor = await Policylayer.RunAsync("explain", policy, "--tool", "refund", "--args", """{"amount": 500}""", "--claim", "role=contractor", "--claim", "role=support");
        var missing = await Policylayer.RunAsync("explain", policy, "--tool", "refund", "--args", "{}", "--claim", "role=contractor");

        contractor.ExitCode.Should().Be(0, contractor.ToString());
        contractor.Out.Should().Contain("Rule:      /tools/refund/deny_if/0")
            .And.Contain("Reason:    Contractors may refund up to 100.")
            .And.Contain("deny_if caller.claims.role contains \"contractor\" and args.amount gt 100: true; refuses the call.")
            .And.Contain("caller.claims.role contains \"contractor\": true.");
        missing.Out.Should().Contain("Rule:      /tools/refund/deny_if/0/conditions/1")
            .And.Contain("Reason:    Refused: args.amount is missing or not a number, so the policy cannot check args.amount gt 100.")
            .And.Contain("args.amount gt 100: cannot be checked (args.amount is missing or not a number).");
    }

    internal static async Task<string> TempPolicy(string json)
    {
        var file = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"policy-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, json);
        return file;
    }
}
