namespace PolicyLayer.Core.Tests.Evaluation;

/// <summary>
/// Predicates in the hosted shape, <c>{"conditions": [...], "on_deny": "..."}</c>: conditions ANDed, an empty list
/// matching every call, on_deny the text the agent reads; and reasons that tell the truth when a condition cannot be checked.
/// </summary>
public class PredicateTests : EvaluatorTestBase
{
    // The rule the hosted product recommends for a Financial tool, written in its shape.
    private const string Refunds = """
        {"version":"1","default":"deny","tools":{"create_refund":{"deny_if":[
          {"conditions":[{"path":"args.amount","op":"gt","value":100}],"on_deny":"Refund exceeds the policy limit."},
          {"conditions":[],"on_deny":"Requires human approval."}]}}}
        """;

    [Test]
    public async Task HostedPredicate_Matching_RefusesWithItsOnDeny()
    {
        using var evaluator = Evaluator(Refunds);

        var decision = await evaluator.EvaluateAsync(Call("create_refund", args: """{ "amount": 250 }"""));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.Reason.Should().Be("Refund exceeds the policy limit.");
        decision.RuleId.Should().Be("/tools/create_refund/deny_if/0");
    }

    [Test]
    public async Task HostedPredicate_EmptyConditions_MatchesEveryCall()
    {
        using var evaluator = Evaluator(Refunds);

        var decision = await evaluator.EvaluateAsync(Call("create_refund", args: """{ "amount": 50 }"""));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.Reason.Should().Be("Requires human approval.");
        decision.RuleId.Should().Be("/tools/create_refund/deny_if/1");
    }

    [TestCase("""{ "amount": 500, "currency": "USD" }""", true)]
    [TestCase("""{ "amount": 500, "currency": "EUR" }""", false)]
    [TestCase("""{ "amount": 50, "currency": "USD" }""", false)]
    [TestCase("""{ "currency": "EUR" }""", false, TestName = "HostedPredicate_OneConditionFalseAndOneMissing_DoesNotMatch")]
    public async Task HostedPredicate_Conditions_AreAnded(string args, bool refused)
    {
        using var evaluator = Evaluator("""
            { "version": "1", "tools": { "pay": { "deny_if": [ { "conditions": [
              { "path": "args.amount", "op": "gt", "value": 100 },
              { "path": "args.currency", "op": "eq", "value": "USD" } ], "on_deny": "Large USD payments are done by people." } ] } } }
            """);

        var decision = await evaluator.EvaluateAsync(Call("pay", args: args));

        decision.Outcome.Should().Be(refused ? PolicyOutcome.Deny : PolicyOutcome.Allow);
    }

    [Test]
    public async Task HostedRequire_FailingCondition_NamesTheConditionAndReadsOnDeny()
    {
        using var evaluator = Evaluator("""
            { "version": "1", "tools": { "refund": { "require": [ { "conditions": [
              { "path": "args.reason", "op": "exists" }, { "path": "args.ticket", "op": "regex", "value": "^T-[0-9]+$" } ],
              "on_deny": "Give a reason and a ticket such as T-123." } ] } } }
            """);

        var decision = await evaluator.EvaluateAsync(Call("refund", args: """{ "reason": "broken", "ticket": "nope" }"""));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.Reason.Should().Be("Give a reason and a ticket such as T-123.");
        decision.RuleId.Should().Be("/tools/refund/require/0/conditions/1");
    }

    [Test]
    public async Task HostedRequireApprovalIf_Matching_HoldsWithOnDeny()
    {
        using var evaluator = Evaluator("""
            { "version": "1", "tools": { "refund": { "require_approval_if": [ { "conditions": [ { "path": "args.amount", "op": "gte", "value": 1000 } ], "on_deny": "Refunds of 1000 or more need a manager." } ] } } }
            """);

        var decision = await evaluator.EvaluateAsync(Call("refund", args: """{ "amount": 1000 }"""));

        decision.Outcome.Should().Be(PolicyOutcome.RequireApproval);
        decision.Reason.Should().Be("Refunds of 1000 or more need a manager.");
        decision.RuleId.Should().Be("/tools/refund/require_approval_if/0");
    }

    [Test]
    public async Task FlatAndHostedShapes_InOneList_BothApply()
    {
        using var evaluator = Evaluator("""
            { "version": "1", "tools": { "t": { "deny_if": [
              { "path": "args.env", "op": "eq", "value": "prod", "reason": "Not in prod." },
              { "conditions": [ { "path": "args.force", "op": "eq", "value": true } ], "on_deny": "No force." } ] } } }
            """);

        (await evaluator.EvaluateAsync(Call("t", args: """{ "env": "prod" }"""))).Reason.Should().Be("Not in prod.");
        (await evaluator.EvaluateAsync(Call("t", args: """{ "env": "dev", "force": true }"""))).Reason.Should().Be("No force.");
        (await evaluator.EvaluateAsync(Call("t", args: """{ "env": "dev", "force": false }"""))).Outcome.Should().Be(PolicyOutcome.Allow);
    }

    [Test]
    public async Task DenyIf_AmountMissing_SaysSoInsteadOfTheOnDeny()
    {
        using var evaluator = Evaluator(Refunds);

        var decision = await evaluator.EvaluateAsync(Call("create_refund", args: """{ "note": "no amount" }"""));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.Reason.Should().Be("Refused: args.amount is missing or not a number, so the policy cannot check args.amount gt 100.");
        decision.Reason.Should().NotContain("exceeds");
        decision.RuleId.Should().Be("/tools/create_refund/deny_if/0/conditions/0");
    }

    [Test]
    public async Task DenyIf_AmountOfWrongType_SaysSoInsteadOfTheRulesReason()
    {
        using var evaluator = Evaluator("""
            { "version": "1", "tools": { "t": { "reason": "Refunds over 100 are done by people.", "deny_if": [ { "path": "args.amount", "op": "gt", "value": 100, "reason": "Too large." } ] } } }
            """);

        var decision = await evaluator.EvaluateAsync(Call("t", args: """{ "amount": "5000" }"""));

        decision.Reason.Should().Be("Refused: args.amount is missing or not a number, so the policy cannot check args.amount gt 100.");
    }

    [Test]
    public async Task RequireApprovalIf_CannotBeChecked_HoldsAndSaysWhy()
    {
        using var evaluator = Evaluator("""
            { "version": "1", "tools": { "t": { "require_approval_if": [ { "path": "args.q", "op": "regex", "value": "^drop", "reason": "Drops need approval." } ] } } }
            """);

        var decision = await evaluator.EvaluateAsync(Call("t", args: """{ "q": 7 }"""));

        decision.Outcome.Should().Be(PolicyOutcome.RequireApproval);
        decision.Reason.Should().Be("Needs a person's approval: args.q is missing or not a string, so the policy cannot check args.q regex ^drop.");
    }

    [Test]
    public async Task DottedNames_KeepWorkingAsToolAndCounterNames()
    {
        using var evaluator = Evaluator("""
            { "version": "1", "tools": { "policies.create": { "limits": [ { "counter": "policies.create_rate", "window": "minute", "max": 1 } ] } } }
            """);

        (await evaluator.EvaluateAsync(Call("policies.create"))).Outcome.Should().Be(PolicyOutcome.Allow);
        var second = await evaluator.EvaluateAsync(Call("policies.create"));

        second.Outcome.Should().Be(PolicyOutcome.Deny);
        second.Reason.Should().Contain("counter 'policies.create_rate'");
    }
}
