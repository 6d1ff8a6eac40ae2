using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using PolicyLayer.Gate;

namespace PolicyLayer.Core.Tests.Gate;

/// <summary>The one refusal format: per kind, the text says what happened, keeps the policy's reason, and gives true advice; _meta carries the same facts.</summary>
public sealed class GateRefusalTests
{
    private const string Policy = """
        {
          "version": "1",
          "default": "deny",
          "tools": {
            "delete_*": { "action": "deny", "reason": "Deleting is done by people, not agents." },
            "create_refund": {
              "require": [ { "path": "args.reason", "op": "exists" } ],
              "deny_if": [ { "path": "args.amount", "op": "gt", "value": 10000, "reason": "Refunds over 100.00 are done by people." } ],
              "limits": [ { "counter": "refund_total", "window": "day", "max": 500, "scope": "grant", "increment_from": "args.amount" } ]
            },
            "add_labels": { "limits": [ { "counter": "labels", "window": "minute", "max": 1, "scope": "grant" } ] }
          }
        }
        """;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private PolicyEvaluator _evaluator = null!;

    [SetUp]
    public void SetUp() => _evaluator = new PolicyEvaluator(PolicyDocument.Parse(Policy), new PolicyEvaluatorOptions { TimeProvider = _time });

    [TearDown]
    public void TearDown() => _evaluator.Dispose();

    [Test]
    public async Task Denied_KeepsThePolicysReason_AndSaysNotToRetry()
    {
        var refusal = await RefuseAsync("delete_flow");

        refusal.Kind.Should().Be(RefusalKind.Denied);
        refusal.Text.Should().Be("[POLICY DENIED] The call of 'delete_flow' was denied: Deleting is done by people, not agents. Rule: /tools/delete_*. Do not retry: the same call will be refused again.");
        Meta(refusal).Should().Be($$"""{"outcome":"deny","kind":"denied","ruleId":"/tools/delete_*","reason":"Deleting is done by people, not agents.","policyRevision":"{{_evaluator.Policy.Revision}}"}""");
    }

    [Test]
    public async Task EveryRefusalOfADecision_NamesThePolicyRevisionInMeta()
    {
        var denied = await RefuseAsync("delete_flow");
        var spend = await RefuseAsync("create_refund", """{"amount": 600, "reason": "r"}""");

        denied.PolicyRevision.Should().Be(_evaluator.Policy.Revision).And.NotBeNullOrEmpty();
        spend.PolicyRevision.Should().Be(_evaluator.Policy.Revision);
        Meta(spend).Should().EndWith($",\"policyRevision\":\"{_evaluator.Policy.Revision}\"}}");
    }

    [Test]
    public async Task MissingRequiredArgument_IsInvalidArguments_AndSaysTheArgumentsCanBeFixed()
    {
        var refusal = await RefuseAsync("create_refund", """{"amount": 5}""");

        refusal.Kind.Should().Be(RefusalKind.InvalidArguments);
        refusal.Text.Should().Contain("args.reason").And.EndWith("Fix the arguments and call again.");
        Meta(refusal).Should().Contain("\"kind\":\"invalid_arguments\"").And.Contain("\"ruleId\":\"/tools/create_refund/require/0\"");
    }

    [Test]
    public async Task DenyIfThatMatched_IsADenial_WithTheConditionsOwnReason()
    {
        var refusal = await RefuseAsync("create_refund", """{"amount": 20000, "reason": "x"}""");

        refusal.Kind.Should().Be(RefusalKind.Denied);
        refusal.Text.Should().Contain("Refunds over 100.00 are done by people.").And.EndWith("Do not retry: the same call will be refused again.");
    }

    [Test]
    public async Task RateLimited_GivesOneRetryTime_TheSameInTextAndMeta()
    {
        (await _evaluator.EvaluateAsync(Call("add_labels"))).IsAllowed.Should().BeTrue();
        _time.Advance(TimeSpan.FromSeconds(15.5));

        var refusal = await RefuseAsync("add_labels");

        refusal.Kind.Should().Be(RefusalKind.RateLimited);
        refusal.RetryAfterSeconds.Should().Be(45);
        Regex.Matches(refusal.Text, "[Rr]etry").Should().ContainSingle("one retry time, not two different ones");
        refusal.Text.Should().Be("[POLICY DENIED] The call of 'add_labels' was rate-limited: Rate limit reached: counter 'labels' allows 1 per 1 min per grant. Rule: /tools/add_labels/limits/0. Retry after 45 s.");
        Meta(refusal).Should().Be($$"""{"outcome":"deny","kind":"rate_limited","ruleId":"/tools/add_labels/limits/0","reason":"Rate limit reached: counter 'labels' allows 1 per 1 min per grant.","retryAfterSeconds":45,"remaining":0,"policyRevision":"{{_evaluator.Policy.Revision}}"}""");
    }

    [Test]
    public async Task SpendCapReached_SaysWhatRemainsInTheCapsUnit()
    {
        (await _evaluator.EvaluateAsync(Call("create_refund", """{"amount": 400, "reason": "r"}"""))).IsAllowed.Should().BeTrue();

        var refusal = await RefuseAsync("create_refund", """{"amount": 300, "reason": "r"}""");

        refusal.Kind.Should().Be(RefusalKind.SpendCapReached);
        refusal.Remaining.Should().Be(100);
        refusal.Text.Should().Contain("Spend cap reached: counter 'refund_total' allows 500 per 1 d per grant, counted from args.amount; this call asks for 300.")
            .And.Contain("Remaining: 100 (args.amount) of 500.")
            .And.EndWith("Retry after 86400 s.");
        Meta(refusal).Should().Contain("\"kind\":\"spend_cap_reached\"").And.Contain("\"remaining\":100");
    }

    [Test]
    public async Task AmountOverTheWholeCap_SaysASmallerAmountMayFit_AndGivesNoRetryTime()
    {
        var refusal = await RefuseAsync("create_refund", """{"amount": 600, "reason": "r"}""");

        refusal.Kind.Should().Be(RefusalKind.SpendCapReached);
        refusal.RetryAfterSeconds.Should().BeNull();
        refusal.Text.Should().EndWith("Do not retry this amount: it is more than the whole budget; a smaller amount may fit.");
    }

    [TestCase(nameof(RefusalKind.ApprovalDeclined), "approval_declined", "Calling again asks for approval again")]
    [TestCase(nameof(RefusalKind.ApprovalTimedOut), "approval_timed_out", "Calling again asks for approval again")]
    [TestCase(nameof(RefusalKind.ApprovalInvalid), "approval_invalid", "Calling again asks for approval again")]
    [TestCase(nameof(RefusalKind.ApprovalImpossible), "approval_impossible", "Do not retry from this client")]
    public void ApprovalRefusals_KeepWhyApprovalWasNeeded_AndAdviseByKind(string kindName, string name, string advice)
    {
        var kind = Enum.Parse<RefusalKind>(kindName);
        var held = new PolicyDecision(PolicyOutcome.RequireApproval, "Runs a production workflow.", "/tools/execute_flow", null);

        var refusal = GateRefusal.ForApproval("execute_flow", held, kind, "What happened.");

        refusal.Text.Should().StartWith("[POLICY DENIED] The call of 'execute_flow' needs a person's approval")
            .And.Contain("What happened. Why approval is needed: Runs a production workflow.")
            .And.Contain(advice);
        Meta(refusal).Should().Be($$"""{"outcome":"require_approval","kind":"{{name}}","ruleId":"/tools/execute_flow","reason":"What happened. Why approval is needed: Runs a production workflow."}""");
    }

    [Test]
    public void WriteToolResult_CarriesTheTextAndTheMetaAsOneToolErrorResult()
    {
        var refusal = GateRefusal.ForError("t");
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, GateRefusal.WriterOptions))
        {
            refusal.WriteToolResult(json);
        }

        Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Be(
            "{\"content\":[{\"type\":\"text\",\"text\":\"" + refusal.Text + "\"}],\"isError\":true,\"_meta\":{\"policylayer/decision\":" + Meta(refusal) + "}}");
    }

    private static ToolCall Call(string tool, string? arguments = null) => new(
        tool,
        new CallerIdentity { GrantId = "g" },
        arguments is null ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(arguments));

    [Test]
    public async Task EveryKindsMeta_ValidatesAgainstTheDocumentedSchema_AndTheSchemaNamesEveryKind()
    {
        var schema = await NJsonSchema.JsonSchema.FromJsonAsync(await File.ReadAllTextAsync(PolicyLayer.TestUtils.RepositoryPaths.Get("docs", "decision.schema.json")));
        var held = new PolicyDecision(PolicyOutcome.RequireApproval, "Runs a production workflow.", "/tools/execute_flow", null);
        await _evaluator.EvaluateAsync(Call("add_labels"));
        var refusals = new List<GateRefusal>
        {
            await RefuseAsync("delete_flow"),
            await RefuseAsync("create_refund", """{"amount": 50}"""),
            await RefuseAsync("create_refund", """{"amount": 600, "reason": "r"}"""),
            await RefuseAsync("add_labels"),
            GateRefusal.ForArguments("t", "Two members named 'a'."),
            GateRefusal.ForError("t"),
            GateRefusal.ForPendingApproval("execute_flow", held, "apr_123"),
        };
        foreach (var kind in new[] { RefusalKind.ApprovalDeclined, RefusalKind.ApprovalTimedOut, RefusalKind.ApprovalInvalid, RefusalKind.ApprovalImpossible })
        {
            refusals.Add(GateRefusal.ForApproval("execute_flow", held, kind, "Nobody said yes."));
        }

        foreach (var refusal in refusals)
        {
            var meta = Meta(refusal);
            schema.Validate(meta).Should().BeEmpty("docs/decision.schema.json must describe {0}", meta);
        }

        var documented = schema.Properties["kind"].Enumeration.Select(e => e?.ToString()).ToList();
        documented.Should().BeEquivalentTo(Enum.GetValues<RefusalKind>().Select(GateRefusal.KindName), "every kind the gate can send is documented, and no other");
    }

    private async Task<GateRefusal> RefuseAsync(string tool, string? arguments = null)
    {
        var decision = await _evaluator.EvaluateAsync(Call(tool, arguments));
        decision.IsAllowed.Should().BeFalse(decision.ToString());
        return GateRefusal.FromDecision(tool, decision);
    }

    internal static string Meta(GateRefusal refusal)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, GateRefusal.WriterOptions))
        {
            refusal.WriteDecision(json);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
