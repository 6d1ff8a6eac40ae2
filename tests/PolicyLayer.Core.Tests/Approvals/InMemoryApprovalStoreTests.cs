using Microsoft.Extensions.Time.Testing;
using PolicyLayer.TestUtils.Approvals;

namespace PolicyLayer.Core.Tests.Approvals;

public sealed class InMemoryApprovalStoreTests : ApprovalStoreContractTests
{
    protected override ApprovalStore CreateStore(FakeTimeProvider time, int maxRecords = 100) =>
        new InMemoryApprovalStore(new InMemoryApprovalStoreOptions { TimeProvider = time, MaxRecords = maxRecords });

    [Test]
    public async Task WaitForChange_ReturnsWhenAnswered_WithoutWaitingForTime()
    {
        var time = new FakeTimeProvider(Start);
        var store = CreateStore(time);
        await store.TryAddAsync(Pending("a1", time));

        var waiting = store.WaitForChangeAsync("a1", TimeSpan.FromMinutes(1)).AsTask();
        waiting.IsCompleted.Should().BeFalse();
        await store.DecideAsync("a1", false, "bob", null);

        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task WaitForChange_AfterTheAnswerWasGiven_ReturnsAtOnce()
    {
        var time = new FakeTimeProvider(Start);
        var store = CreateStore(time);
        await store.TryAddAsync(Pending("a1", time));
        await store.DecideAsync("a1", true, "bob", null);

        // The clock never moves: only noticing the answer already given ends the wait.
        await store.WaitForChangeAsync("a1", TimeSpan.FromMinutes(1)).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task FinishedRecords_AreForgottenAfterTheyAreKept()
    {
        var time = new FakeTimeProvider(Start);
        var store = new InMemoryApprovalStore(new InMemoryApprovalStoreOptions { TimeProvider = time, KeepFinishedFor = TimeSpan.FromMinutes(10) });
        await store.TryAddAsync(Pending("a1", time));

        time.Advance(TimeSpan.FromMinutes(14));
        (await store.ListAsync()).Should().ContainSingle().Which.Status.Should().Be(ApprovalStatus.Expired);

        time.Advance(TimeSpan.FromMinutes(1));
        (await store.ListAsync()).Should().BeEmpty();
    }

    [Test]
    public void Options_OutOfRange_AreRefusedNamingTheOption()
    {
        var act = () => new InMemoryApprovalStore(new InMemoryApprovalStoreOptions { MaxRecords = 0 });

        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*MaxRecords*");
    }
}
