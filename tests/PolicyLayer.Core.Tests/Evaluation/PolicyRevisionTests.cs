namespace PolicyLayer.Core.Tests.Evaluation;

/// <summary>Every decision names the revision of the policy that made it, across reloads, without costing allowed calls anything.</summary>
public class PolicyRevisionTests : EvaluatorTestBase
{
    [TestCase("read_a", PolicyOutcome.Allow)]
    [TestCase("t_deny", PolicyOutcome.Deny)]
    [TestCase("t_cond", PolicyOutcome.Deny)]
    [TestCase("t_approve", PolicyOutcome.RequireApproval)]
    [TestCase("t_limited", PolicyOutcome.Allow)]
    [TestCase("unknown", PolicyOutcome.Deny)]
    public async Task EveryKindOfDecision_NamesThePolicyRevision(string tool, PolicyOutcome outcome)
    {
        using var evaluator = Evaluator("""
            { "version": "1", "tools": { "read_a": {}, "t_deny": { "action": "deny" }, "t_approve": { "action": "require_approval" },
              "t_cond": { "deny_if": [ { "conditions": [] } ] },
              "t_limited": { "limits": [ { "counter": "c", "window": 60, "max": 5 } ] } } }
            """);

        var decision = await evaluator.EvaluateAsync(Call(tool));

        decision.Outcome.Should().Be(outcome);
        decision.PolicyRevision.Should().Be(evaluator.Policy.Revision).And.MatchRegex("^[0-9a-f]{12}$");
    }

    [Test]
    public async Task RateLimitedAndScopeLessRefusals_NameTheRevisionToo()
    {
        using var evaluator = Evaluator("""{ "version": "1", "revision": "r7", "tools": { "t": { "limits": [ { "counter": "c", "window": 60, "max": 1 } ] } } }""");

        await evaluator.EvaluateAsync(Call("t"));
        var limited = await evaluator.EvaluateAsync(Call("t"));
        var noGrant = await evaluator.EvaluateAsync(Call("t", grant: null));

        limited.RetryAfter.Should().NotBeNull();
        limited.PolicyRevision.Should().Be("r7");
        noGrant.PolicyRevision.Should().Be("r7");
    }

    [Test]
    public async Task AfterUpdatePolicy_DecisionsNameTheNewRevision()
    {
        using var evaluator = Evaluator("""{ "version": "1", "revision": "one", "tools": { "t": {} } }""");
        var before = await evaluator.EvaluateAsync(Call("t"));

        evaluator.UpdatePolicy(PolicyDocument.Parse("""{ "version": "1", "revision": "two", "tools": { "t": {} } }"""));
        var after = await evaluator.EvaluateAsync(Call("t"));

        before.PolicyRevision.Should().Be("one");
        after.PolicyRevision.Should().Be("two");
    }
}
