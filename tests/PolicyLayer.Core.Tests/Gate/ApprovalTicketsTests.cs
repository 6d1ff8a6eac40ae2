using Microsoft.Extensions.Time.Testing;
using PolicyLayer.Gate;

namespace PolicyLayer.Core.Tests.Gate;

/// <summary>Approval tickets signed with a random key drawn on first use: one gate's tickets check on it and on no other.</summary>
public sealed class ApprovalTicketsTests
{
    [Test]
    public void WithoutAGivenKey_ATicketChecksOnItsOwnGate_ButNotOnAnotherOne()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-29T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var first = new ApprovalTickets(null, TimeSpan.FromMinutes(5), time);
        var second = new ApprovalTickets(null, TimeSpan.FromMinutes(5), time);
        var call = new ToolCall("delete_file", CallerIdentity.Anonymous);

        var state = first.Issue(call);

        first.TryCheck(call, state, out _, out _, out _).Should().BeTrue();
        first.TryCheck(call, first.Issue(call), out _, out _, out _).Should().BeTrue("the key drawn on first use is kept");
        second.TryCheck(call, state, out _, out var kind, out var why).Should().BeFalse("each gate draws its own key");
        kind.Should().Be(RefusalKind.ApprovalInvalid);
        why.Should().Contain("not issued for it");
    }

    [Test]
    public void WithAGivenKey_GatesSharingItAcceptEachOthersTickets()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-29T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var key = new byte[32];
        key[0] = 7;
        var call = new ToolCall("delete_file", CallerIdentity.Anonymous);

        var state = new ApprovalTickets(key, TimeSpan.FromMinutes(5), time).Issue(call);

        new ApprovalTickets(key, TimeSpan.FromMinutes(5), time).TryCheck(call, state, out _, out _, out _).Should().BeTrue();
    }

    [Test]
    public void DrawnConcurrentlyOnFirstUse_EveryThreadSignsWithTheSameKey()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-29T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var tickets = new ApprovalTickets(null, TimeSpan.FromMinutes(5), time);
        var call = new ToolCall("delete_file", CallerIdentity.Anonymous);
        using var start = new Barrier(8);
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 8), io);

        var issuing = Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait();
            return tickets.Issue(call);
        })).ToArray();
        var states = Task.WhenAll(issuing).GetAwaiter().GetResult();

        states.Should().AllSatisfy(s => tickets.TryCheck(call, s, out _, out _, out _).Should().BeTrue());
    }
}
