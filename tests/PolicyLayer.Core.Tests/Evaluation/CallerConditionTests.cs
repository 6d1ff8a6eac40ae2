namespace PolicyLayer.Core.Tests.Evaluation;

/// <summary>Conditions on who is calling: caller.grant, caller.user, caller.agent, caller.session and caller.claims.&lt;type&gt;.</summary>
public class CallerConditionTests : EvaluatorTestBase
{
    // "Contractors may refund up to 100, finance up to 10,000" as one policy.
    private const string Refunds = """
        { "version": "1", "tools": { "refund": { "deny_if": [
          { "conditions": [ { "path": "caller.claims.role", "op": "contains", "value": "contractor" }, { "path": "args.amount", "op": "gt", "value": 100 } ],
            "on_deny": "Contractors may refund up to 100." },
          { "conditions": [ { "path": "caller.claims.role", "op": "not_in", "value": ["finance", "contractor"] } ], "on_deny": "Only finance and contractors refund." },
          { "conditions": [ { "path": "args.amount", "op": "gt", "value": 10000 } ], "on_deny": "Refunds over 10,000 are done by people." } ] } } }
        """;

    private static ToolCall Refund(decimal amount, params string[] roles) =>
        new("refund", new CallerIdentity
        {
            GrantId = "g",
            SessionId = "s",
            Claims = CallerIdentity.GroupClaims(roles.Select(r => new KeyValuePair<string, string>("role", r))),
        }, Args($$"""{ "amount": {{amount}} }"""));

    [TestCase(100, new[] { "contractor" }, null)]
    [TestCase(101, new[] { "contractor" }, "Contractors may refund up to 100.")]
    [TestCase(5000, new[] { "finance" }, null)]
    [TestCase(10001, new[] { "finance" }, "Refunds over 10,000 are done by people.")]
    [TestCase(101, new[] { "finance", "contractor" }, "Contractors may refund up to 100.")]
    [TestCase(5, new[] { "support" }, "Only finance and contractors refund.")]
    public async Task Claims_RoleDecidesTheCeiling(decimal amount, string[] roles, string? refusal)
    {
        using var evaluator = Evaluator(Refunds);

        var decision = await evaluator.EvaluateAsync(Refund(amount, roles));

        if (refusal is null)
        {
            decision.Outcome.Should().Be(PolicyOutcome.Allow);
        }
        else
        {
            decision.Outcome.Should().Be(PolicyOutcome.Deny);
            decision.Reason.Should().Be(refusal);
        }
    }

    [Test]
    public async Task Claims_Absent_NeverLetsADenyIfMiss()
    {
        using var evaluator = Evaluator(Refunds);

        var decision = await evaluator.EvaluateAsync(Refund(5));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.Reason.Should().Be("Refused: caller.claims.role is missing, so the policy cannot check caller.claims.role not_in [\"finance\", \"contractor\"].");
    }

    [Test]
    public async Task Claims_SeveralValuesWithEq_CannotBeCheckedAndSaysWhy()
    {
        using var evaluator = Evaluator("""{ "version": "1", "tools": { "t": { "require": [ { "path": "caller.claims.role", "op": "eq", "value": "admin" } ] } } }""");

        var decision = await evaluator.EvaluateAsync(new ToolCall("t", new CallerIdentity
        {
            Claims = CallerIdentity.GroupClaims([new("role", "admin"), new("role", "guest")]),
        }));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.Reason.Should().Contain("caller.claims.role has several values");
    }

    [Test]
    public async Task Claims_TypeWithDots_IsTakenWhole()
    {
        const string type = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role";
        using var evaluator = Evaluator($$"""{ "version": "1", "tools": { "t": { "require": [ { "path": "caller.claims.{{type}}", "op": "in", "value": ["ops"] } ] } } }""");

        var decision = await evaluator.EvaluateAsync(new ToolCall("t", new CallerIdentity { Claims = CallerIdentity.GroupClaims([new(type, "ops")]) }));

        decision.Outcome.Should().Be(PolicyOutcome.Allow);
    }

    [TestCase("caller.grant", "eq", "\"g-1\"", true)]
    [TestCase("caller.grant", "eq", "\"g-2\"", false)]
    [TestCase("caller.user", "regex", "\"^alice@example\\\\.com$\"", true)]
    [TestCase("caller.agent", "in", "[\"claude-code\", \"cursor\"]", true)]
    [TestCase("caller.session", "contains", "\"s-\"", true)]
    [TestCase("caller.agent", "neq", "\"cursor\"", true)]
    public async Task CallerFields_AreCompared(string path, string op, string value, bool holds)
    {
        using var evaluator = Evaluator($$"""{ "version": "1", "tools": { "t": { "require": [ { "path": "{{path}}", "op": "{{op}}", "value": {{value}} } ] } } }""");

        var decision = await evaluator.EvaluateAsync(new ToolCall("t", new CallerIdentity { GrantId = "g-1", UserId = "alice@example.com", AgentId = "claude-code", SessionId = "s-9" }));

        decision.Outcome.Should().Be(holds ? PolicyOutcome.Allow : PolicyOutcome.Deny);
    }

    [Test]
    public async Task CallerField_Absent_FailsARequireAndSaysSo()
    {
        using var evaluator = Evaluator("""{ "version": "1", "tools": { "t": { "require": [ { "path": "caller.user", "op": "exists", "reason": "Sign in first." }, { "path": "caller.grant", "op": "eq", "value": "g" } ] } } }""");

        var noUser = await evaluator.EvaluateAsync(new ToolCall("t", new CallerIdentity { GrantId = "g" }));
        var noGrant = await evaluator.EvaluateAsync(new ToolCall("t", new CallerIdentity { UserId = "u" }));

        noUser.Reason.Should().Be("Sign in first.");
        noGrant.Reason.Should().Be("Refused: caller.grant is missing, so the policy cannot check caller.grant eq \"g\".");
    }

    [Test]
    public void GroupClaims_KeepsEveryValueOncePerType()
    {
        var claims = CallerIdentity.GroupClaims([new("role", "a"), new("team", "x"), new("role", "b"), new("role", "a")]);

        claims["role"].Should().Equal("a", "b");
        claims["team"].Should().Equal("x");
    }
}
