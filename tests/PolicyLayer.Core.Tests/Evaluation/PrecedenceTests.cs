namespace PolicyLayer.Core.Tests.Evaluation;

public class PrecedenceTests : EvaluatorTestBase
{
    private const string Policy = """
        {
          "version": "1",
          "default": "deny",
          "hide": ["secret_*", "list_secrets"],
          "tools": {
            "list_secrets": {},
            "list_flows": { "action": "deny", "reason": "exact wins" },
            "list_*": { "reason": "one star" },
            "list_f*": { "action": "require_approval", "reason": "one star, longer" },
            "*_flows": { "action": "deny", "reason": "one star, shorter than list_f*" },
            "l?st_*": { "action": "deny", "reason": "two wildcards" },
            "*": { "action": "deny", "reason": "catch-all" }
          },
          "risk": { "read": { "action": "allow" }, "destructive": { "action": "require_approval" } },
          "classify": { "purge_cache": "destructive" }
        }
        """;

    [TestCase("list_secrets", PolicyOutcome.Deny, "(hidden)", TestName = "Evaluate_HiddenTool_IsRefusedEvenWithAnExactRule")]
    [TestCase("secret_keys", PolicyOutcome.Deny, "(hidden)", TestName = "Evaluate_HiddenGlob_IsRefused")]
    [TestCase("list_flows", PolicyOutcome.Deny, "/tools/list_flows", TestName = "Evaluate_ExactName_BeatsEveryGlob")]
    [TestCase("list_files", PolicyOutcome.RequireApproval, "/tools/list_f*", TestName = "Evaluate_LongerGlobWithSameWildcards_Wins")]
    [TestCase("list_users", PolicyOutcome.Allow, "/tools/list_*", TestName = "Evaluate_FewerWildcards_BeatMore")]
    [TestCase("lost_users", PolicyOutcome.Deny, "/tools/*", TestName = "Evaluate_FewerWildcards_BeatALongerPattern")]
    [TestCase("anything", PolicyOutcome.Deny, "/tools/*", TestName = "Evaluate_CatchAllGlob_BeatsRiskAndDefault")]
    public async Task Evaluate_Precedence(string tool, PolicyOutcome outcome, string ruleId)
    {
        using var evaluator = Evaluator(Policy);

        var decision = await evaluator.EvaluateAsync(Call(tool));

        decision.Outcome.Should().Be(outcome);
        decision.RuleId.Should().Be(ruleId);
    }

    [Test]
    public async Task Evaluate_TwoWildcardGlob_MatchesWhenNoOtherGlobDoes()
    {
        using var evaluator = Evaluator("""{ "version": "1", "tools": { "l?st_*": { "action": "require_approval" }, "get_*": {} } }""");

        var decision = await evaluator.EvaluateAsync(Call("lost_users"));

        decision.RuleId.Should().Be("/tools/l?st_*");
        decision.Outcome.Should().Be(PolicyOutcome.RequireApproval);
    }

    [Test]
    public async Task Evaluate_NoToolRule_UsesTheRiskCategoryRule_ThenTheDefault()
    {
        using var evaluator = Evaluator("""
            {
              "version": "1",
              "default": "deny",
              "risk": { "read": { "action": "allow" }, "destructive": { "action": "require_approval", "reason": "people decide" } },
              "classify": { "purge_cache": "destructive", "get_*": "read" }
            }
            """);

        var read = await evaluator.EvaluateAsync(Call("get_flow"));
        read.Outcome.Should().Be(PolicyOutcome.Allow);
        read.RuleId.Should().Be("/risk/read");
        read.Risk!.Category.Should().Be(RiskCategory.Read);

        var destructive = await evaluator.EvaluateAsync(Call("purge_cache"));
        destructive.Outcome.Should().Be(PolicyOutcome.RequireApproval);
        destructive.RuleId.Should().Be("/risk/destructive");
        destructive.Reason.Should().Be("people decide");
        destructive.Risk!.Evidence.Should().ContainSingle().Which.Should().Contain("classify");

        var write = await evaluator.EvaluateAsync(Call("something_else", descriptor: null));
        write.RuleId.Should().Be("(default)");
        write.Outcome.Should().Be(PolicyOutcome.Deny);
    }

    [Test]
    public async Task Evaluate_DefaultAllow_AllowsUnmatchedTools_UnderAllToolsLimits()
    {
        using var evaluator = Evaluator("""
            { "version": "1", "default": "allow",
              "all_tools": { "limits": [ { "counter": "all", "window": "minute", "max": 2, "scope": "session" } ] } }
            """);

        (await evaluator.EvaluateAsync(Call("a"))).RuleId.Should().Be("(default)");
        (await evaluator.EvaluateAsync(Call("b"))).IsAllowed.Should().BeTrue();
        var third = await evaluator.EvaluateAsync(Call("c"));
        third.IsAllowed.Should().BeFalse();
        third.RuleId.Should().Be("/all_tools/limits/0");
    }

    [Test]
    public async Task Evaluate_DefaultRequireApproval_HoldsUnmatchedTools()
    {
        using var evaluator = Evaluator("""{ "version": "1", "default": "require_approval" }""");

        var decision = await evaluator.EvaluateAsync(Call("anything"));

        decision.Outcome.Should().Be(PolicyOutcome.RequireApproval);
        decision.RuleId.Should().Be("(default)");
        (await evaluator.EvaluateAsync(Call("anything", approved: true))).IsAllowed.Should().BeTrue();
    }

    [Test]
    public void IsListed_HiddenAndOutrightDeniedTools_AreNotListed()
    {
        using var evaluator = Evaluator(Policy);

        evaluator.IsListed(new ToolDescriptor("secret_keys")).Should().BeFalse();
        evaluator.IsListed(new ToolDescriptor("list_flows")).Should().BeFalse();
        evaluator.IsListed(new ToolDescriptor("list_files")).Should().BeTrue("approval is not an outright denial");
        evaluator.IsListed(new ToolDescriptor("list_users")).Should().BeTrue();
    }

    [Test]
    public void IsListed_DefaultDeny_HidesToolsNoRuleAllows()
    {
        using var evaluator = Evaluator("""{ "version": "1", "tools": { "get_flow": {} } }""");

        evaluator.IsListed(new ToolDescriptor("get_flow")).Should().BeTrue();
        evaluator.IsListed(new ToolDescriptor("delete_flow")).Should().BeFalse();
    }
}
