using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;

namespace PolicyLayer.TestUtils.Approvals;

/// <summary>
/// What every <see cref="ApprovalStore"/> must do (the runtime's BaseRateLimiterTests pattern): one answer per record,
/// one use per approval, expiry by the store's clock, a bound on what it keeps. Inherited by the in-memory and Redis stores.
/// </summary>
public abstract class ApprovalStoreContractTests
{
    protected static readonly DateTimeOffset Start = new(2026, 11, 29, 9, 0, 0, TimeSpan.Zero);

    /// <summary>A new, empty store on <paramref name="time"/> that keeps at most <paramref name="maxRecords"/> records.</summary>
    protected abstract ApprovalStore CreateStore(FakeTimeProvider time, int maxRecords = 100);

    protected static ApprovalRecord Pending(string id, FakeTimeProvider time, TimeSpan? lifetime = null) => new()
    {
        Id = id,
        ToolName = "create_refund",
        ArgumentsJson = "{\n  \"amount\": 7000\n}",
        Fingerprint = "f-" + id,
        GrantId = "grant-1",
        UserId = "ann",
        AgentId = "agent-1",
        RuleId = "/tools/create_refund/require_approval_if/0",
        Reason = "Refunds over 50.00 need a person.",
        PolicyRevision = "rev1",
        CreatedAt = time.GetUtcNow(),
        ExpiresAt = time.GetUtcNow() + (lifetime ?? TimeSpan.FromMinutes(5)),
        Status = ApprovalStatus.Pending,
    };

    [Test]
    public async Task Add_ThenGet_ReturnsThePendingRecordWhole()
    {
        var time = new FakeTimeProvider(Start);
        var store = CreateStore(time);

        (await store.TryAddAsync(Pending("a1", time))).Should().BeTrue();
        var record = await store.GetAsync("a1");

        record.Should().NotBeNull();
        record!.Status.Should().Be(ApprovalStatus.Pending);
        record.ToolName.Should().Be("create_refund");
        record.ArgumentsJson.Should().Be("{\n  \"amount\": 7000\n}");
        record.Fingerprint.Should().Be("f-a1");
        record.GrantId.Should().Be("grant-1");
        record.UserId.Should().Be("ann");
        record.AgentId.Should().Be("agent-1");
        record.Reason.Should().Be("Refunds over 50.00 need a person.");
        record.ExpiresAt.Should().Be(Start.AddMinutes(5));
        (await store.GetAsync("nope")).Should().BeNull();
    }

    [Test]
    public async Task Decide_Pending_IsRecordedWithWhoAndWhen_AndASecondAnswerIsRefused()
    {
        var time = new FakeTimeProvider(Start);
        var store = CreateStore(time);
        await store.TryAddAsync(Pending("a1", time));
        time.Advance(TimeSpan.FromSeconds(30));

        (await store.DecideAsync("a1", approve: true, "bob", "ok for this customer")).Should().Be(ApprovalDecisionResult.Decided);
        (await store.DecideAsync("a1", approve: false, "eve", null)).Should().Be(ApprovalDecisionResult.AlreadyDecided);

        var record = await store.GetAsync("a1");
        record!.Status.Should().Be(ApprovalStatus.Approved);
        record.DecidedBy.Should().Be("bob");
        record.DecidedAt.Should().Be(Start.AddSeconds(30));
        record.Note.Should().Be("ok for this customer");
        (await store.DecideAsync("unknown", true, "bob", null)).Should().Be(ApprovalDecisionResult.NotFound);
    }

    [Test]
    public async Task Use_Approved_SucceedsOnce()
    {
        var time = new FakeTimeProvider(Start);
        var store = CreateStore(time);
        await store.TryAddAsync(Pending("a1", time));

        (await store.TryUseAsync("a1")).Should().BeFalse("a pending record allows nothing");
        await store.DecideAsync("a1", true, "bob", null);

        (await store.TryUseAsync("a1")).Should().BeTrue();
        (await store.TryUseAsync("a1")).Should().BeFalse("each approval allows one call");
        (await store.GetAsync("a1"))!.Status.Should().Be(ApprovalStatus.Used);
    }

    [Test]
    public async Task Use_Denied_IsRefused()
    {
        var time = new FakeTimeProvider(Start);
        var store = CreateStore(time);
        await store.TryAddAsync(Pending("a1", time));
        await store.DecideAsync("a1", false, "bob", "no");

        (await store.TryUseAsync("a1")).Should().BeFalse();
        (await store.GetAsync("a1"))!.Status.Should().Be(ApprovalStatus.Denied);
    }

    [Test]
    public async Task UseFromManyThreads_ExactlyOneWins()
    {
        var time = new FakeTimeProvider(Start);
        var store = CreateStore(time);
        await store.TryAddAsync(Pending("a1", time));
        await store.DecideAsync("a1", true, "bob", null);

        var uses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () => await store.TryUseAsync("a1"))));

        uses.Count(used => used).Should().Be(1);
    }

    [Test]
    public async Task PastItsExpiry_ARecordIsExpired_AndCanBeNeitherAnsweredNorUsed()
    {
        var time = new FakeTimeProvider(Start);
        var store = CreateStore(time);
        await store.TryAddAsync(Pending("pending", time));
        await store.TryAddAsync(Pending("approved", time));
        await store.DecideAsync("approved", true, "bob", null);

        time.Advance(TimeSpan.FromMinutes(5));

        (await store.GetAsync("pending"))!.Status.Should().Be(ApprovalStatus.Expired);
        (await store.DecideAsync("pending", true, "bob", null)).Should().Be(ApprovalDecisionResult.Expired);
        (await store.TryUseAsync("approved")).Should().BeFalse("an approval must be used before the record expires");
        (await store.GetAsync("approved"))!.Status.Should().Be(ApprovalStatus.Expired);
    }

    [Test]
    public async Task List_ShowsEveryRecordNewestFirst()
    {
        var time = new FakeTimeProvider(Start);
        var store = CreateStore(time);
        await store.TryAddAsync(Pending("first", time));
        time.Advance(TimeSpan.FromSeconds(1));
        await store.TryAddAsync(Pending("second", time));
        await store.DecideAsync("first", false, "bob", "no");

        var records = await store.ListAsync();

        records.Select(r => r.Id).Should().Equal("second", "first");
        records[1].Status.Should().Be(ApprovalStatus.Denied);
        records[1].DecidedBy.Should().Be("bob");
    }

    [Test]
    public async Task Add_WhenFullOfLiveRecords_IsRefused_AndFinishedRecordsMakeRoom()
    {
        var time = new FakeTimeProvider(Start);
        var store = CreateStore(time, maxRecords: 2);
        (await store.TryAddAsync(Pending("a1", time))).Should().BeTrue();
        (await store.TryAddAsync(Pending("a2", time))).Should().BeTrue();

        (await store.TryAddAsync(Pending("a3", time))).Should().BeFalse("both records are still waiting for an answer");

        await store.DecideAsync("a1", false, "bob", null);
        (await store.TryAddAsync(Pending("a3", time))).Should().BeTrue("a denied record is finished and makes room");
        (await store.GetAsync("a1")).Should().BeNull();
        (await store.GetAsync("a2")).Should().NotBeNull();
    }

    [Test]
    public async Task WaitForChange_ReturnsOnceTheRecordIsAnswered()
    {
        var time = new FakeTimeProvider(Start);
        var store = CreateStore(time);
        await store.TryAddAsync(Pending("a1", time));

        var waiting = store.WaitForChangeAsync("a1", TimeSpan.FromSeconds(1)).AsTask();
        await store.DecideAsync("a1", true, "bob", null);
        // A store that polls sees the change at its next poll, within the wait.
        time.Advance(TimeSpan.FromSeconds(1));

        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        (await store.GetAsync("a1"))!.Status.Should().Be(ApprovalStatus.Approved);
    }
}
