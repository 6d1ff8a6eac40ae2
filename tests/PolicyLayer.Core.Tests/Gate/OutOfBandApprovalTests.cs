using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using PolicyLayer.Gate;

namespace PolicyLayer.Core.Tests.Gate;

/// <summary>
/// Out-of-band approvals through the shared gate: a held call waits in the inbox (with progress notifications) or is
/// refused with an approval id that its retry brings back; each approval is bound to the call, used once, counted once.
/// </summary>
public sealed class OutOfBandApprovalTests
{
    private const string Policy = """
        {
          "version": "1",
          "tools": {
            "create_refund": {
              "reason": "Refunds over 50.00 need a person.",
              "require_approval_if": [ { "path": "args.amount", "op": "gt", "value": 5000 } ],
              "limits": [ { "counter": "refunds", "window": "minute", "max": 10, "scope": "global" } ]
            }
          }
        }
        """;

    private static readonly CallerIdentity Ann = new() { GrantId = "grant-1", UserId = "ann", AgentId = "agent-1", SessionId = "s-1" };

    [Test]
    public async Task Wait_ApprovedInTheInbox_GoesAhead_CountedOnce_AfterProgressNotifications()
    {
        var setup = new Setup(ApprovalHoldMode.Wait);
        var client = new FakeClient(canReportProgress: true);

        var deciding = setup.Gate.DecideAsync(Call(7000), client, CancellationToken.None).AsTask();
        var record = await setup.WaitForPendingAsync();
        await client.Progress.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        setup.Time.Advance(TimeSpan.FromSeconds(10));
        await client.Progress.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        deciding.IsCompleted.Should().BeFalse("nobody has answered yet");

        (await setup.Inbox.DecideAsync(record.Id, approve: true, "bob", null)).Should().Be(ApprovalDecisionResult.Decided);
        var verdict = await deciding.WaitAsync(TimeSpan.FromSeconds(10));

        verdict.IsAdmitted.Should().BeTrue();
        setup.Used("refunds").Should().Be(1, "the approved call is counted once");
        (await setup.Store.GetAsync(record.Id))!.Status.Should().Be(ApprovalStatus.Used);
        client.Messages.Should().AllSatisfy(m => m.Should().Contain(record.Id));
    }

    [Test]
    public async Task Wait_Denied_IsRefusedWithWhoDeniedAndTheNote_AndCostsNothing()
    {
        var setup = new Setup(ApprovalHoldMode.Wait);
        var deciding = setup.Gate.DecideAsync(Call(7000), new FakeClient(true), CancellationToken.None).AsTask();
        var record = await setup.WaitForPendingAsync();

        await setup.Inbox.DecideAsync(record.Id, approve: false, "bob", "Not for this customer.");
        var verdict = await deciding.WaitAsync(TimeSpan.FromSeconds(10));

        verdict.Refusal!.Kind.Should().Be(RefusalKind.ApprovalDeclined);
        verdict.Refusal.Text.Should().Contain("bob declined the call: Not for this customer.");
        setup.Used("refunds").Should().Be(0);
    }

    [Test]
    public async Task Wait_NobodyAnswers_IsRefusedAtTheTimeOut()
    {
        var setup = new Setup(ApprovalHoldMode.Wait);
        var deciding = setup.Gate.DecideAsync(Call(7000), new FakeClient(true), CancellationToken.None).AsTask();
        var record = await setup.WaitForPendingAsync();

        for (var i = 0; i < 30 && !deciding.IsCompleted; i++)
        {
            setup.Time.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(10);
        }

        var verdict = await deciding.WaitAsync(TimeSpan.FromSeconds(10));
        verdict.Refusal!.Kind.Should().Be(RefusalKind.ApprovalTimedOut);
        verdict.Refusal.Text.Should().Contain("Nobody answered in the approvals inbox within 300 s.");
        (await setup.Inbox.DecideAsync(record.Id, true, "bob", null)).Should().Be(ApprovalDecisionResult.Expired, "a late answer is refused");
    }

    [Test]
    public async Task RefuseWithId_RetryAfterApproval_GoesAheadOnce_AndASecondRetryIsRefused()
    {
        var setup = new Setup(ApprovalHoldMode.RefuseWithId);
        var client = new FakeClient(canReportProgress: false);

        var first = await setup.Gate.DecideAsync(Call(7000), client, CancellationToken.None);
        first.Refusal!.Kind.Should().Be(RefusalKind.ApprovalPending);
        var id = first.Refusal.ApprovalId!;
        id.Should().StartWith("apr_");
        first.Refusal.Text.Should().Contain(id).And.Contain("_meta {\"policylayer/approval\": \"" + id + "\"}");
        Meta(first.Refusal).GetProperty("approvalId").GetString().Should().Be(id);
        Meta(first.Refusal).GetProperty("kind").GetString().Should().Be("approval_pending");

        var early = await setup.Gate.DecideAsync(Call(7000, id), client, CancellationToken.None);
        early.Refusal!.Kind.Should().Be(RefusalKind.ApprovalPending, "nobody has approved it yet");

        await setup.Inbox.DecideAsync(id, approve: true, "bob", null);
        var retried = await setup.Gate.DecideAsync(Call(7000, id), client, CancellationToken.None);
        var again = await setup.Gate.DecideAsync(Call(7000, id), client, CancellationToken.None);

        retried.IsAdmitted.Should().BeTrue();
        again.Refusal!.Kind.Should().Be(RefusalKind.ApprovalInvalid);
        again.Refusal.Text.Should().Contain("already used");
        setup.Used("refunds").Should().Be(1, "the approved call is counted once");
    }

    [TestCase(7001, "grant-1", TestName = "RetryWithId_OtherArguments_IsRefused")]
    [TestCase(7000, "grant-2", TestName = "RetryWithId_OtherCaller_IsRefused")]
    public async Task RetryWithId_ForAnotherCall_IsRefused_AndTheApprovalStaysUsable(int amount, string grant)
    {
        var setup = new Setup(ApprovalHoldMode.RefuseWithId);
        var id = (await setup.Gate.DecideAsync(Call(7000), new FakeClient(false), CancellationToken.None)).Refusal!.ApprovalId!;
        await setup.Inbox.DecideAsync(id, true, "bob", null);

        var other = await setup.Gate.DecideAsync(
            new GateCall(new ToolCall("create_refund", new CallerIdentity { GrantId = grant, UserId = "ann", AgentId = "agent-1" }, Args(amount)), null) { ApprovalId = id },
            new FakeClient(false),
            CancellationToken.None);

        other.Refusal!.Kind.Should().Be(RefusalKind.ApprovalInvalid);
        other.Refusal.Text.Should().Contain("issued for another call");
        (await setup.Gate.DecideAsync(Call(7000, id), new FakeClient(false), CancellationToken.None)).IsAdmitted.Should().BeTrue();
    }

    [Test]
    public async Task RetryWithUnknownId_IsRefused()
    {
        var setup = new Setup(ApprovalHoldMode.RefuseWithId);

        var verdict = await setup.Gate.DecideAsync(Call(7000, "apr_forged"), new FakeClient(false), CancellationToken.None);

        verdict.Refusal!.Kind.Should().Be(RefusalKind.ApprovalInvalid);
        verdict.Refusal.Text.Should().Contain("unknown");
    }

    [TestCase(true, nameof(RefusalKind.ApprovalDeclined), TestName = "Auto_ClientWithProgressToken_Waits")]
    [TestCase(false, nameof(RefusalKind.ApprovalPending), TestName = "Auto_ClientWithoutProgressToken_IsRefusedWithAnId")]
    public async Task Auto_ChoosesByWhetherTheClientCanBeKeptWaiting(bool canReportProgress, string expected)
    {
        var setup = new Setup(ApprovalHoldMode.Auto);
        var deciding = setup.Gate.DecideAsync(Call(7000), new FakeClient(canReportProgress), CancellationToken.None).AsTask();
        var record = await setup.WaitForPendingAsync();
        await setup.Inbox.DecideAsync(record.Id, false, "bob", null);

        (await deciding.WaitAsync(TimeSpan.FromSeconds(10))).Refusal!.Kind.Should().Be(Enum.Parse<RefusalKind>(expected));
    }

    [Test]
    public async Task HoldModeByTool_OverridesTheHostDefault()
    {
        var setup = new Setup(ApprovalHoldMode.Wait, o => o.HoldModeByTool["create_refund"] = ApprovalHoldMode.RefuseWithId);

        var verdict = await setup.Gate.DecideAsync(Call(7000), new FakeClient(true), CancellationToken.None);

        verdict.Refusal!.Kind.Should().Be(RefusalKind.ApprovalPending);
    }

    [Test]
    public async Task ArgumentsLargerThanTheInboxShowsWhole_AreRefusedNotCut()
    {
        var setup = new Setup(ApprovalHoldMode.RefuseWithId, o => o.MaxArgumentBytes = 10);

        var verdict = await setup.Gate.DecideAsync(Call(7000), new FakeClient(false), CancellationToken.None);

        verdict.Refusal!.Kind.Should().Be(RefusalKind.ApprovalImpossible);
        verdict.Refusal.Text.Should().Contain("larger than the 10 bytes");
        (await setup.Store.ListAsync()).Should().BeEmpty();
    }

    [Test]
    public async Task FullInbox_RefusesTheCall()
    {
        var setup = new Setup(ApprovalHoldMode.RefuseWithId, maxRecords: 1);
        await setup.Gate.DecideAsync(Call(7000), new FakeClient(false), CancellationToken.None);

        var verdict = await setup.Gate.DecideAsync(Call(8000), new FakeClient(false), CancellationToken.None);

        verdict.Refusal!.Kind.Should().Be(RefusalKind.ApprovalImpossible);
        verdict.Refusal.Text.Should().Contain("inbox is full");
    }

    [Test]
    public async Task Record_CarriesTheCompleteCanonicalArgumentsAndTheReason()
    {
        var setup = new Setup(ApprovalHoldMode.RefuseWithId);
        var arguments = new Dictionary<string, JsonElement>
        {
            ["reason"] = JsonSerializer.SerializeToElement("<script>alert(1)</script>" + new string('x', 5000)),
            ["amount"] = JsonSerializer.SerializeToElement(7000),
        };

        await setup.Gate.DecideAsync(new GateCall(new ToolCall("create_refund", Ann, arguments), null), new FakeClient(false), CancellationToken.None);

        var record = (await setup.Store.ListAsync()).Single();
        record.ArgumentsJson.Should().StartWith("{\n  \"amount\": 7000,\n  \"reason\": \"<script>").And.Contain(new string('x', 5000));
        record.Reason.Should().Be("Refunds over 50.00 need a person.");
        record.RuleId.Should().Be("/tools/create_refund/require_approval_if/0");
        (record.UserId, record.GrantId, record.AgentId).Should().Be(("ann", "grant-1", "agent-1"));
    }

    [Test]
    public async Task ANotifierIsToldOfEachHeldCall_AndItsFailureDoesNotRefuseTheCall()
    {
        var told = new List<string>();
        var setup = new Setup(ApprovalHoldMode.RefuseWithId, notifiers: [new Notifier(told), new Notifier(null)]);

        var verdict = await setup.Gate.DecideAsync(Call(7000), new FakeClient(false), CancellationToken.None);

        told.Should().Equal(verdict.Refusal!.ApprovalId);
        verdict.Refusal.Kind.Should().Be(RefusalKind.ApprovalPending);
    }

    private static GateCall Call(int amount, string? approvalId = null) =>
        new(new ToolCall("create_refund", Ann, Args(amount)), null) { ApprovalId = approvalId };

    private static Dictionary<string, JsonElement> Args(int amount) => new() { ["amount"] = JsonSerializer.SerializeToElement(amount) };

    private static JsonElement Meta(GateRefusal refusal) => JsonDocument.Parse(refusal.MetaNode().ToJsonString()).RootElement.GetProperty(GateRefusal.MetaKey);

    private sealed class Setup
    {
        public Setup(ApprovalHoldMode mode, Action<ApprovalInboxOptions>? configure = null, int maxRecords = 100, IApprovalNotifier[]? notifiers = null)
        {
            Counters = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = Time });
            Evaluator = new PolicyEvaluator(PolicyDocument.Parse(Policy), new PolicyEvaluatorOptions { TimeProvider = Time, CounterStore = Counters });
            Store = new InMemoryApprovalStore(new InMemoryApprovalStoreOptions { TimeProvider = Time, MaxRecords = maxRecords });
            var options = new ApprovalInboxOptions { HoldMode = mode };
            configure?.Invoke(options);
            Inbox = new ApprovalInbox(Store, options, notifiers, Time);
            Gate = new ToolCallGate(Evaluator, new ToolCallGateOptions { Inbox = Inbox }, Time, null);
        }

        public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 29, 9, 0, 0, TimeSpan.Zero));

        public InMemoryCounterStore Counters { get; }

        public PolicyEvaluator Evaluator { get; }

        public InMemoryApprovalStore Store { get; }

        public ApprovalInbox Inbox { get; }

        public ToolCallGate Gate { get; }

        public long Used(string counter)
        {
            var definition = Evaluator.Policy.Counters.Single(c => c.Name == counter);
            var budgets = new CounterBudget[1];
            Counters.GetBudgetsAsync(new[] { new CounterRequest(definition, "", 0) }, budgets).AsTask().GetAwaiter().GetResult();
            return definition.Max - budgets[0].Remaining;
        }

        public async Task<ApprovalRecord> WaitForPendingAsync()
        {
            for (var i = 0; i < 500; i++)
            {
                if (await Store.ListAsync() is [var record, ..])
                {
                    return record;
                }

                await Task.Delay(10);
            }

            throw new TimeoutException("No call was held.");
        }
    }

    private sealed class FakeClient(bool canReportProgress) : IGateClient
    {
        public GateClientFeatures Features => GateClientFeatures.None;

        public bool CanReportProgress => canReportProgress;

        public System.Threading.Channels.Channel<double> Progress { get; } = System.Threading.Channels.Channel.CreateUnbounded<double>();

        public ConcurrentQueue<string> Messages { get; } = new();

        public ValueTask<JsonElement> ElicitAsync(JsonElement parameters, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("An out-of-band approval never asks the client.");

        public ValueTask ReportProgressAsync(double progress, string message, CancellationToken cancellationToken)
        {
            Messages.Enqueue(message);
            Progress.Writer.TryWrite(progress);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Notifier(List<string>? told) : IApprovalNotifier
    {
        public ValueTask NotifyAsync(ApprovalRecord record, CancellationToken cancellationToken)
        {
            if (told is null)
            {
                throw new HttpRequestException("The webhook is down.");
            }

            told.Add(record.Id);
            return ValueTask.CompletedTask;
        }
    }
}
