namespace PolicyLayer.Core.Tests.Evaluation;

/// <summary>Each operator, and the rule that an absent path or wrong type never lets a call through.</summary>
public class ConditionTests : EvaluatorTestBase
{
    private async Task<PolicyDecision> DenyIf(string condition, string? args)
    {
        using var evaluator = Evaluator($$"""{ "version": "1", "tools": { "t": { "deny_if": [ {{condition}} ] } } }""");
        return await evaluator.EvaluateAsync(Call("t", args: args));
    }

    private async Task<PolicyDecision> Require(string condition, string? args)
    {
        using var evaluator = Evaluator($$"""{ "version": "1", "tools": { "t": { "require": [ {{condition}} ] } } }""");
        return await evaluator.EvaluateAsync(Call("t", args: args));
    }

    [TestCase("""{ "path": "args.env", "op": "eq", "value": "prod" }""", """{ "env": "prod" }""", true)]
    [TestCase("""{ "path": "args.env", "op": "eq", "value": "prod" }""", """{ "env": "dev" }""", false)]
    [TestCase("""{ "path": "args.n", "op": "eq", "value": 1 }""", """{ "n": 1.0 }""", true)]
    [TestCase("""{ "path": "args.o", "op": "eq", "value": { "a": [1, 2] } }""", """{ "o": { "a": [1, 2] } }""", true)]
    [TestCase("""{ "path": "args.env", "op": "neq", "value": "dev" }""", """{ "env": "prod" }""", true)]
    [TestCase("""{ "path": "args.env", "op": "neq", "value": "dev" }""", """{ "env": "dev" }""", false)]
    [TestCase("""{ "path": "args.env", "op": "in", "value": ["prod", "staging"] }""", """{ "env": "staging" }""", true)]
    [TestCase("""{ "path": "args.env", "op": "in", "value": ["prod", "staging"] }""", """{ "env": "dev" }""", false)]
    [TestCase("""{ "path": "args.env", "op": "not_in", "value": ["dev", "test"] }""", """{ "env": "prod" }""", true)]
    [TestCase("""{ "path": "args.env", "op": "not_in", "value": ["dev", "test"] }""", """{ "env": "dev" }""", false)]
    [TestCase("""{ "path": "args.n", "op": "lt", "value": 10 }""", """{ "n": 9.99 }""", true)]
    [TestCase("""{ "path": "args.n", "op": "lt", "value": 10 }""", """{ "n": 10 }""", false)]
    [TestCase("""{ "path": "args.n", "op": "lte", "value": 10 }""", """{ "n": 10 }""", true)]
    [TestCase("""{ "path": "args.n", "op": "lte", "value": 10 }""", """{ "n": 10.01 }""", false)]
    [TestCase("""{ "path": "args.n", "op": "gt", "value": 10000 }""", """{ "n": 10001 }""", true)]
    [TestCase("""{ "path": "args.n", "op": "gt", "value": 10000 }""", """{ "n": 10000 }""", false)]
    [TestCase("""{ "path": "args.n", "op": "gte", "value": 5 }""", """{ "n": 5 }""", true)]
    [TestCase("""{ "path": "args.n", "op": "gte", "value": 5 }""", """{ "n": 4 }""", false)]
    [TestCase("""{ "path": "args.q", "op": "regex", "value": "(?i)drop\\s+table" }""", """{ "q": "DROP  TABLE users" }""", true)]
    [TestCase("""{ "path": "args.q", "op": "regex", "value": "(?i)drop\\s+table" }""", """{ "q": "select 1" }""", false)]
    [TestCase("""{ "path": "args.q", "op": "contains", "value": "rm -rf" }""", """{ "q": "sudo rm -rf /" }""", true)]
    [TestCase("""{ "path": "args.q", "op": "contains", "value": "rm -rf" }""", """{ "q": "ls" }""", false)]
    [TestCase("""{ "path": "args.tags", "op": "contains", "value": "prod" }""", """{ "tags": ["a", "prod"] }""", true)]
    [TestCase("""{ "path": "args.tags", "op": "contains", "value": "prod" }""", """{ "tags": ["a"] }""", false)]
    [TestCase("""{ "path": "args.force", "op": "exists" }""", """{ "force": true }""", true)]
    [TestCase("""{ "path": "args.force", "op": "exists" }""", """{ "other": 1 }""", false)]
    [TestCase("""{ "path": "args.force", "op": "exists" }""", """{ "force": null }""", false)]
    [TestCase("""{ "path": "args.force", "op": "exists", "value": false }""", """{ "other": 1 }""", true)]
    [TestCase("""{ "path": "args.a.b.1", "op": "eq", "value": "x" }""", """{ "a": { "b": ["w", "x"] } }""", true)]
    public async Task DenyIf_Operator_MatchesAsDocumented(string condition, string args, bool matches)
    {
        var decision = await DenyIf(condition, args);

        decision.Outcome.Should().Be(matches ? PolicyOutcome.Deny : PolicyOutcome.Allow);
        if (matches)
        {
            decision.RuleId.Should().Be("/tools/t/deny_if/0");
        }
    }

    [TestCase("""{ "path": "args.n", "op": "gt", "value": 100 }""", null, TestName = "DenyIf_NoArgumentsAtAll_Refuses")]
    [TestCase("""{ "path": "args.n", "op": "gt", "value": 100 }""", """{ "m": 1 }""", TestName = "DenyIf_AbsentPath_Refuses")]
    [TestCase("""{ "path": "args.n", "op": "gt", "value": 100 }""", """{ "n": "5000" }""", TestName = "DenyIf_NumberAsString_Refuses")]
    [TestCase("""{ "path": "args.n", "op": "eq", "value": "prod" }""", """{ "m": 1 }""", TestName = "DenyIf_AbsentPathForEq_Refuses")]
    [TestCase("""{ "path": "args.n", "op": "not_in", "value": ["prod"] }""", """{ }""", TestName = "DenyIf_AbsentPathForNotIn_Refuses")]
    [TestCase("""{ "path": "args.q", "op": "regex", "value": "x" }""", """{ "q": 42 }""", TestName = "DenyIf_RegexOnNumber_Refuses")]
    [TestCase("""{ "path": "args.q", "op": "contains", "value": "x" }""", """{ "q": { "x": 1 } }""", TestName = "DenyIf_ContainsOnObject_Refuses")]
    [TestCase("""{ "path": "args.a.b", "op": "eq", "value": 1 }""", """{ "a": "not an object" }""", TestName = "DenyIf_PathThroughAString_Refuses")]
    public async Task DenyIf_AbsentOrWrongType_NeverMisses(string condition, string? args)
    {
        var decision = await DenyIf(condition, args);

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.Reason.Should().StartWith("Refused: args.").And.Contain(", so the policy cannot check ");
    }

    [TestCase("""{ "path": "args.n", "op": "lt", "value": 100 }""", """{ "m": 1 }""", TestName = "Require_AbsentPath_Fails")]
    [TestCase("""{ "path": "args.n", "op": "lt", "value": 100 }""", """{ "n": "5" }""", TestName = "Require_WrongType_Fails")]
    [TestCase("""{ "path": "args.env", "op": "neq", "value": "prod" }""", """{ }""", TestName = "Require_AbsentPathForNeq_Fails")]
    [TestCase("""{ "path": "args.reason", "op": "exists" }""", """{ "amount": 1 }""", TestName = "Require_ExistsOnAbsent_Fails")]
    public async Task Require_AbsentOrWrongType_NeverPasses(string condition, string args)
    {
        var decision = await Require(condition, args);

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.RuleId.Should().Be("/tools/t/require/0");
    }

    [Test]
    public async Task Require_AllHold_Allows()
    {
        var decision = await Require("""{ "path": "args.reason", "op": "exists" }""", """{ "reason": "duplicate charge" }""");

        decision.IsAllowed.Should().BeTrue();
    }

    [Test]
    public async Task RequireApprovalIf_AbsentPath_HoldsForApproval()
    {
        using var evaluator = Evaluator("""{ "version": "1", "tools": { "t": { "require_approval_if": [ { "path": "args.amount", "op": "gt", "value": 5000 } ] } } }""");

        (await evaluator.EvaluateAsync(Call("t", args: """{ }"""))).Outcome.Should().Be(PolicyOutcome.RequireApproval);
        (await evaluator.EvaluateAsync(Call("t", args: """{ "amount": 10 }"""))).Outcome.Should().Be(PolicyOutcome.Allow);
    }

    [Test]
    public async Task DenyIf_ConditionReason_IsShownToTheAgent()
    {
        var decision = await DenyIf("""{ "path": "args.amount", "op": "gt", "value": 10000, "reason": "Refunds over 100.00 are done by people." }""", """{ "amount": 20000 }""");

        decision.Reason.Should().Be("Refunds over 100.00 are done by people.");
    }

    [TestCase("-1e-29", "lt", "0", true)]
    [TestCase("1e-29", "gt", "0", true)]
    [TestCase("0.30000000000000000000000000001", "gt", "0.3", true)]
    [TestCase("79228162514264337593543950336", "gt", "79228162514264337593543950335", true)]
    [TestCase("1e400", "gt", "1e399", true)]
    [TestCase("-1e400", "lt", "-1e399", true)]
    [TestCase("10.0", "lte", "1e1", true)]
    [TestCase("10.0", "lt", "1e1", false)]
    [TestCase("9007199254740993", "gt", "9007199254740992", true)]
    [TestCase("-0", "gte", "0", true)]
    [TestCase("1E+2", "gte", "100", true)]
    [TestCase("0.000001e6", "lt", "1.0000000001", true)]
    public async Task Numbers_AreComparedExactly(string actual, string op, string expected, bool holds)
    {
        var decision = await DenyIf($$"""{ "path": "args.n", "op": "{{op}}", "value": {{expected}} }""", $$"""{ "n": {{actual}} }""");

        decision.Outcome.Should().Be(holds ? PolicyOutcome.Deny : PolicyOutcome.Allow);
    }

    [Test]
    public async Task Regex_IsLinearTime_ACatastrophicPatternForBacktrackingMatchesQuickly()
    {
        // (a+)+$ backtracks exponentially on "aaaa...!" in a backtracking engine; linear-time matching answers at once.
        var input = new string('a', 20_000) + "!";

        var decision = await DenyIf("""{ "path": "args.q", "op": "regex", "value": "^(a+)+$" }""", $$"""{ "q": "{{input}}" }""");

        decision.Outcome.Should().Be(PolicyOutcome.Allow);
    }

    [Test]
    public void Regex_NeedingBacktracking_IsALoadErrorNotASlowMatch()
    {
        var act = () => PolicyDocument.Parse("""{ "version": "1", "tools": { "t": { "deny_if": [ { "path": "args.q", "op": "regex", "value": "(?<=a)b" } ] } } }""");

        act.Should().Throw<PolicyValidationException>().Which.Errors.Should().ContainSingle(e => e.Message.Contains("linear-time"));
    }
}
