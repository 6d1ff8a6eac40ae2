using PolicyLayer.TestUtils.Fakes;

namespace PolicyLayer.Core.Tests.Evaluation;

public class CountingTests : EvaluatorTestBase
{
    private const string Refunds = """
        {
          "version": "1",
          "tools": {
            "create_refund": {
              "require": [ { "path": "args.reason", "op": "exists" } ],
              "deny_if": [ { "path": "args.amount", "op": "gt", "value": 10000, "reason": "Refunds over 100.00 are done by people." } ],
              "require_approval_if": [ { "path": "args.amount", "op": "gt", "value": 5000 } ],
              "limits": [ { "counter": "refund_total", "window": "day", "max": 12000, "scope": "grant", "increment_from": "args.amount" } ]
            }
          }
        }
        """;

    private static ToolCall Refund(int amount, bool approved = false) =>
        Call("create_refund", args: $$"""{ "amount": {{amount}}, "reason": "duplicate" }""", approved: approved);

    [Test]
    public async Task Evaluate_SpendCap_CountsTheAmount()
    {
        using var evaluator = Evaluator(Refunds);

        (await evaluator.EvaluateAsync(Refund(4000))).Counters[0].Remaining.Should().Be(8000);
        (await evaluator.EvaluateAsync(Refund(5000))).Counters[0].Remaining.Should().Be(3000);
        var over = await evaluator.EvaluateAsync(Refund(3001));

        over.Outcome.Should().Be(PolicyOutcome.Deny);
        over.RuleId.Should().Be("/tools/create_refund/limits/0");
        over.RetryAfter.Should().Be(TimeSpan.FromDays(1));
        (await evaluator.EvaluateAsync(Refund(3000))).IsAllowed.Should().BeTrue("exactly the rest of the budget fits");
    }

    [Test]
    public async Task ReleaseAsync_OneCounterDecision_ThroughCopiesAndEveryLease_GivesTheUnitsBackOnce()
    {
        // A call of one counter carries its budget by value and makes its lease when asked: every copy and every lease
        // may release, and the units are freed once (the store's release is one-shot).
        using var evaluator = Evaluator(Refunds);
        var first = await evaluator.EvaluateAsync(Refund(5000));
        (await evaluator.EvaluateAsync(Refund(5000))).IsAllowed.Should().BeTrue();
        var copy = first;
        var lease = first.Lease!;

        first.HoldsReservation.Should().BeTrue();
        lease.IsAcquired.Should().BeTrue();
        lease.Counters.Should().ContainSingle().Which.Reserved.Should().Be(5000);
        await first.ReleaseAsync();
        await copy.ReleaseAsync();
        await lease.ReleaseAsync();
        await first.Lease!.ReleaseAsync();

        lease.IsReleased.Should().BeTrue();
        (await evaluator.EvaluateAsync(Refund(1000))).Counters[0].Remaining.Should().Be(6000, "5,000 of the 10,000 reserved were given back, once");
    }

    [Test]
    public async Task Lease_OfACallRefusedByItsOneCounter_IsNotAcquired_AndGivesNothingBack()
    {
        using var evaluator = Evaluator(Refunds);
        (await evaluator.EvaluateAsync(Refund(5000))).IsAllowed.Should().BeTrue();
        (await evaluator.EvaluateAsync(Refund(5000))).IsAllowed.Should().BeTrue();
        var refused = await evaluator.EvaluateAsync(Refund(3000));

        refused.Outcome.Should().Be(PolicyOutcome.Deny);
        refused.HoldsReservation.Should().BeFalse();
        refused.Lease!.IsAcquired.Should().BeFalse();
        refused.Counters.Should().ContainSingle().Which.Remaining.Should().Be(2000);
        await refused.ReleaseAsync();

        (await evaluator.EvaluateAsync(Refund(2000))).Counters[0].Remaining.Should().Be(0, "the refused call held nothing to give back");
    }

    [Test]
    public async Task Evaluate_ApprovalRequired_CostsNothing_UntilApproved()
    {
        using var evaluator = Evaluator(Refunds);

        var held = await evaluator.EvaluateAsync(Refund(6000));
        held.Outcome.Should().Be(PolicyOutcome.RequireApproval);
        held.RuleId.Should().Be("/tools/create_refund/require_approval_if/0");
        held.HoldsReservation.Should().BeFalse();

        var approved = await evaluator.EvaluateAsync(Refund(6000, approved: true));
        approved.IsAllowed.Should().BeTrue();
        approved.Counters[0].Remaining.Should().Be(6000, "only the approved call counted");
    }

    [Test]
    public async Task Evaluate_ApprovalForACallTheLimitWouldRefuse_IsRefusedWithoutAsking()
    {
        using var evaluator = Evaluator(Refunds);
        (await evaluator.EvaluateAsync(Refund(5000))).IsAllowed.Should().BeTrue();
        (await evaluator.EvaluateAsync(Refund(5000))).IsAllowed.Should().BeTrue();

        var decision = await evaluator.EvaluateAsync(Refund(6000));

        decision.Outcome.Should().Be(PolicyOutcome.Deny, "2000 remain: a person is not asked for a call the cap refuses anyway");
        decision.RuleId.Should().Be("/tools/create_refund/limits/0");
    }

    [Test]
    public async Task Evaluate_DenyIfBeatsApproval_EvenWhenApproved()
    {
        using var evaluator = Evaluator(Refunds);

        var decision = await evaluator.EvaluateAsync(Refund(20000, approved: true));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.Reason.Should().Be("Refunds over 100.00 are done by people.");
    }

    [TestCase("""{ "reason": "x" }""", "is missing", TestName = "Evaluate_SpendAmountMissing_IsRefused")]
    [TestCase("""{ "reason": "x", "amount": -5 }""", "is negative", TestName = "Evaluate_SpendAmountNegative_IsRefused")]
    [TestCase("""{ "reason": "x", "amount": "50" }""", "is not a number", TestName = "Evaluate_SpendAmountNotANumber_IsRefused")]
    public async Task Evaluate_BadSpendAmount_IsRefused(string args, string problem)
    {
        using var evaluator = Evaluator("""
            { "version": "1", "tools": { "pay": { "limits": [ { "counter": "spend", "window": "day", "max": 100, "scope": "grant", "increment_from": "args.amount" } ] } } }
            """);

        var decision = await evaluator.EvaluateAsync(Call("pay", args: args));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.Reason.Should().Contain("args.amount, which " + problem);
    }

    [Test]
    public async Task Evaluate_FractionalAmount_CountsAsTheNextWholeUnit()
    {
        using var evaluator = Evaluator("""
            { "version": "1", "tools": { "pay": { "limits": [ { "counter": "spend", "window": "day", "max": 10, "scope": "grant", "increment_from": "args.amount" } ] } } }
            """);

        (await evaluator.EvaluateAsync(Call("pay", args: """{ "amount": 4.2 }"""))).Counters[0].Remaining.Should().Be(5);
    }

    [Test]
    public async Task Evaluate_SharedCounterAndAllTools_AreAllOrNone()
    {
        // Two tools share "writes" (3 per minute); every call also counts in all_calls (4 per minute).
        using var evaluator = Evaluator("""
            {
              "version": "1",
              "all_tools": { "limits": [ { "counter": "all_calls", "window": "minute", "max": 4, "scope": "session" } ] },
              "tools": {
                "create_flow": { "limits": [ { "counter": "writes", "window": "minute", "max": 3, "scope": "grant" } ] },
                "update_flow": { "limits": [ { "counter": "writes", "window": "minute", "max": 3, "scope": "grant" } ] },
                "get_flow": {}
              }
            }
            """);

        (await evaluator.EvaluateAsync(Call("create_flow"))).IsAllowed.Should().BeTrue();
        (await evaluator.EvaluateAsync(Call("update_flow"))).IsAllowed.Should().BeTrue();
        (await evaluator.EvaluateAsync(Call("create_flow"))).IsAllowed.Should().BeTrue();

        var fourth = await evaluator.EvaluateAsync(Call("update_flow"));
        fourth.IsAllowed.Should().BeFalse("the shared writes counter is spent");
        fourth.RuleId.Should().Be("/tools/update_flow/limits/0");
        fourth.Counters.Should().HaveCount(2);

        // The refused write took nothing from all_calls: one read still fits, then all_calls is spent.
        var read = await evaluator.EvaluateAsync(Call("get_flow"));
        read.IsAllowed.Should().BeTrue();
        read.Counters.Should().ContainSingle().Which.Remaining.Should().Be(0);
        var fifth = await evaluator.EvaluateAsync(Call("get_flow"));
        fifth.IsAllowed.Should().BeFalse();
        fifth.RuleId.Should().Be("/all_tools/limits/0");
    }

    [Test]
    public async Task Evaluate_CounterNamedByRuleAndAllTools_CountsOncePerCall()
    {
        using var evaluator = Evaluator("""
            {
              "version": "1",
              "all_tools": { "limits": [ { "counter": "calls", "window": "minute", "max": 2, "scope": "session" } ] },
              "tools": { "t": { "limits": [ { "counter": "calls", "window": "minute", "max": 2, "scope": "session" } ] } }
            }
            """);

        (await evaluator.EvaluateAsync(Call("t"))).Counters.Should().ContainSingle().Which.Remaining.Should().Be(1);
        (await evaluator.EvaluateAsync(Call("t"))).IsAllowed.Should().BeTrue();
    }

    [Test]
    public async Task Evaluate_RateLimitShorthand_CountsPerSession()
    {
        using var evaluator = Evaluator("""{ "version": "1", "tools": { "search": { "rate_limit": { "max": 2, "window": 60 } } } }""");

        (await evaluator.EvaluateAsync(Call("search", session: "a"))).IsAllowed.Should().BeTrue();
        (await evaluator.EvaluateAsync(Call("search", session: "a"))).IsAllowed.Should().BeTrue();
        var third = await evaluator.EvaluateAsync(Call("search", session: "a"));
        third.IsAllowed.Should().BeFalse();
        third.RuleId.Should().Be("/tools/search/rate_limit");
        (await evaluator.EvaluateAsync(Call("search", session: "b"))).IsAllowed.Should().BeTrue();
    }

    [Test]
    public async Task Evaluate_GlobalScope_NeedsNoIdentity()
    {
        using var evaluator = Evaluator("""{ "version": "1", "tools": { "t": { "limits": [ { "counter": "g", "window": "minute", "max": 1, "scope": "global" } ] } } }""");

        (await evaluator.EvaluateAsync(new ToolCall("t"))).IsAllowed.Should().BeTrue();
        (await evaluator.EvaluateAsync(new ToolCall("t", new CallerIdentity { GrantId = "other" }))).IsAllowed.Should().BeFalse();
    }

    [TestCase(false, TestName = "Evaluate_CounterStoreThrows_RefusesTheCall")]
    [TestCase(true, TestName = "Evaluate_CounterStoreFailsAsynchronously_RefusesTheCall")]
    public async Task Evaluate_CounterStoreFailure_FailsClosed(bool async)
    {
        using var evaluator = Evaluator("""{ "version": "1", "tools": { "t": { "rate_limit": { "max": 5, "window": 60 } } } }""", new FailingCounterStore(async: async));

        var decision = await evaluator.EvaluateAsync(Call("t"));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.RuleId.Should().Be("(error)");
        decision.Reason.Should().Contain("counter store failed").And.Contain("TimeoutException");
    }

    [Test]
    public async Task Evaluate_CounterStoreFailureWithFailOpen_AllowsUncounted()
    {
        using var evaluator = Evaluator(
            """{ "version": "1", "tools": { "t": { "rate_limit": { "max": 5, "window": 60 } } } }""",
            new FailingCounterStore(), mode: CounterStoreFailureMode.FailOpen);

        var decision = await evaluator.EvaluateAsync(Call("t"));

        decision.Outcome.Should().Be(PolicyOutcome.Allow);
        decision.Reason.Should().Contain("fail-open");
        decision.HoldsReservation.Should().BeFalse();
    }

    [Test]
    public async Task Evaluate_ClassifierThrows_RefusesTheCall()
    {
        using var evaluator = Evaluator("""{ "version": "1", "default": "allow" }""", classifier: new ThrowingClassifier());

        var decision = await evaluator.EvaluateAsync(Call("anything"));

        decision.Outcome.Should().Be(PolicyOutcome.Deny);
        decision.RuleId.Should().Be("(error)");
        decision.Reason.Should().Contain("Policy evaluation failed");
    }

    [Test]
    public async Task Evaluate_ShadowMode_RefusesNothingButSaysWhatItWouldHaveDone()
    {
        using var evaluator = new PolicyEvaluator(
            PolicyDocument.Parse("""{ "version": "1" }"""),
            new PolicyEvaluatorOptions { TimeProvider = Time, ShadowMode = true });

        var decision = await evaluator.EvaluateAsync(Call("anything"));

        decision.Outcome.Should().Be(PolicyOutcome.Allow);
        decision.IsShadowed.Should().BeTrue();
        decision.ShadowedOutcome.Should().Be(PolicyOutcome.Deny);
        decision.RuleId.Should().Be("(default)");
    }

    [Test]
    public async Task UpdatePolicy_KeepsCountersOfUnchangedDefinitions()
    {
        const string v1 = """{ "version": "1", "tools": { "t": { "limits": [ { "counter": "c", "window": "minute", "max": 2, "scope": "grant" } ] } } }""";
        const string v2 = """{ "version": "1", "tools": { "t": { "limits": [ { "counter": "c", "window": "minute", "max": 2, "scope": "grant" } ] }, "u": {} } }""";
        using var evaluator = Evaluator(v1);
        (await evaluator.EvaluateAsync(Call("t"))).IsAllowed.Should().BeTrue();
        (await evaluator.EvaluateAsync(Call("u"))).IsAllowed.Should().BeFalse();

        evaluator.UpdatePolicy(PolicyDocument.Parse(v2));

        (await evaluator.EvaluateAsync(Call("u"))).IsAllowed.Should().BeTrue("the new policy is in force");
        (await evaluator.EvaluateAsync(Call("t"))).IsAllowed.Should().BeTrue();
        (await evaluator.EvaluateAsync(Call("t"))).IsAllowed.Should().BeFalse("the counter kept the unit counted before the reload");
    }

    private sealed class ThrowingClassifier : ToolRiskClassifier
    {
        public override RiskProfile Classify(ToolDescriptor tool) => throw new InvalidOperationException("classifier bug");
    }
}
