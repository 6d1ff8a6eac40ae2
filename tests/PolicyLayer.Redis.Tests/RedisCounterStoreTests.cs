using Microsoft.Extensions.Time.Testing;

namespace PolicyLayer.Redis.Tests;

/// <summary>The store's semantics, with time taken from a fake clock (<see cref="RedisClock.TimeProvider"/>).</summary>
public sealed class RedisCounterStoreTests
{
    private static readonly CounterDefinition PerMinute = new("calls", 3, TimeSpan.FromMinutes(1), CounterScope.Grant);
    private static readonly CounterDefinition PerSecond = new("burst", 2, TimeSpan.FromSeconds(1), CounterScope.Session);
    private static readonly CounterDefinition Spend = new("refund_total", 100, TimeSpan.FromDays(1), CounterScope.Grant);

    private FakeTimeProvider _time = null!;
    private RedisCounterStore _store = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        _store = CreateStore(_time);
    }

    internal static RedisCounterStore CreateStore(TimeProvider time, string? prefix = null) =>
        new(RedisTestServer.Connection, new RedisCounterStoreOptions
        {
            KeyPrefix = prefix ?? RedisTestServer.UniquePrefix(),
            Clock = RedisClock.TimeProvider,
            TimeProvider = time,
        });

    [Test]
    public async Task Reserve_UpToMax_IsAcquiredAndCountsDownRemaining()
    {
        for (var i = 1; i <= 3; i++)
        {
            var (result, budgets) = await ReserveAsync(new CounterRequest(PerMinute, "grant-1", 1));
            result.IsAcquired.Should().BeTrue();
            budgets[0].Reserved.Should().Be(1);
            budgets[0].Remaining.Should().Be(3 - i);
            budgets[0].RetryAfter.Should().Be(TimeSpan.Zero);
            budgets[0].ReservationId.Should().NotBe(0);
        }
    }

    [Test]
    public async Task Reserve_OneOverMax_IsRefusedWithExactRetryAfter()
    {
        await ReserveAsync(new CounterRequest(PerMinute, "grant-1", 1));
        _time.Advance(TimeSpan.FromSeconds(10));
        await ReserveAsync(new CounterRequest(PerMinute, "grant-1", 2));
        _time.Advance(TimeSpan.FromSeconds(5));

        var (result, budgets) = await ReserveAsync(new CounterRequest(PerMinute, "grant-1", 1));

        result.IsAcquired.Should().BeFalse();
        result.BlockedIndex.Should().Be(0);
        result.RetryAfter.Should().Be(TimeSpan.FromSeconds(45), "the first unit leaves the window 60 s after it was taken, 15 s ago");
        budgets[0].Reserved.Should().Be(0);
        budgets[0].Remaining.Should().Be(0);
        budgets[0].RetryAfter.Should().Be(TimeSpan.FromSeconds(45));
    }

    [Test]
    public async Task Reserve_OneMicrosecondBeforeTheWindowEnds_IsRefused_AndAtItsEnd_IsAcquired()
    {
        await ReserveAsync(new CounterRequest(PerSecond, "s", 2));
        _time.Advance(TimeSpan.FromSeconds(1) - TimeSpan.FromMicroseconds(1));

        var (early, _) = await ReserveAsync(new CounterRequest(PerSecond, "s", 1));
        early.IsAcquired.Should().BeFalse();
        early.RetryAfter.Should().Be(TimeSpan.FromMicroseconds(1));

        _time.Advance(TimeSpan.FromMicroseconds(1));
        var (onTime, _) = await ReserveAsync(new CounterRequest(PerSecond, "s", 2));
        onTime.IsAcquired.Should().BeTrue();
    }

    [Test]
    public async Task Reserve_WindowSlides_NoBoundaryAdmitsTwiceMax()
    {
        // Two units late in one "calendar" second and two early in the next would pass a fixed window.
        _time.Advance(TimeSpan.FromMilliseconds(900));
        (await ReserveAsync(new CounterRequest(PerSecond, "s", 2))).Result.IsAcquired.Should().BeTrue();
        _time.Advance(TimeSpan.FromMilliseconds(200));

        var (result, _) = await ReserveAsync(new CounterRequest(PerSecond, "s", 1));

        result.IsAcquired.Should().BeFalse();
        result.RetryAfter.Should().Be(TimeSpan.FromMilliseconds(800));
    }

    [Test]
    public async Task Reserve_OneCounterFull_ReservesNothingInTheOthers()
    {
        await ReserveAsync(new CounterRequest(PerSecond, "s", 2));

        var (result, budgets) = await ReserveAsync(
            new CounterRequest(PerMinute, "grant-1", 1),
            new CounterRequest(PerSecond, "s", 1));

        result.IsAcquired.Should().BeFalse();
        result.BlockedIndex.Should().Be(1);
        budgets[0].Reserved.Should().Be(0);
        budgets[0].Remaining.Should().Be(3, "nothing was taken from the counter that had room");
        budgets[0].RetryAfter.Should().Be(TimeSpan.Zero);
        budgets[1].Remaining.Should().Be(0);

        var peek = await BudgetsAsync(new CounterRequest(PerMinute, "grant-1", 1));
        peek[0].Remaining.Should().Be(3);
    }

    [Test]
    public async Task Reserve_SeveralCountersFull_NamesTheOneThatFreesUpLast()
    {
        await ReserveAsync(new CounterRequest(PerSecond, "s", 2), new CounterRequest(PerMinute, "grant-1", 3));

        var (result, budgets) = await ReserveAsync(new CounterRequest(PerSecond, "s", 1), new CounterRequest(PerMinute, "grant-1", 1));

        result.BlockedIndex.Should().Be(1);
        result.RetryAfter.Should().Be(TimeSpan.FromMinutes(1));
        budgets[0].RetryAfter.Should().Be(TimeSpan.FromSeconds(1));
    }

    [Test]
    public async Task Reserve_CountersOfDifferentScopeKeys_AreSeparate()
    {
        await ReserveAsync(new CounterRequest(PerMinute, "grant-1", 3));

        var (other, _) = await ReserveAsync(new CounterRequest(PerMinute, "grant-2", 3));

        other.IsAcquired.Should().BeTrue();
    }

    [Test]
    public async Task Reserve_Amounts_AreSummedAgainstMax()
    {
        (await ReserveAsync(new CounterRequest(Spend, "g", 60))).Result.IsAcquired.Should().BeTrue();
        _time.Advance(TimeSpan.FromHours(1));
        (await ReserveAsync(new CounterRequest(Spend, "g", 30))).Result.IsAcquired.Should().BeTrue();

        var (refused, budgets) = await ReserveAsync(new CounterRequest(Spend, "g", 11));
        refused.IsAcquired.Should().BeFalse();
        budgets[0].Remaining.Should().Be(10);
        refused.RetryAfter.Should().Be(TimeSpan.FromHours(23), "only the 60 taken an hour ago make room for 11");

        var (fits, after) = await ReserveAsync(new CounterRequest(Spend, "g", 10));
        fits.IsAcquired.Should().BeTrue();
        after[0].Remaining.Should().Be(0);
    }

    [Test]
    public async Task Reserve_AmountAboveMax_NeverFits()
    {
        var (result, budgets) = await ReserveAsync(new CounterRequest(Spend, "g", 101));

        result.IsAcquired.Should().BeFalse();
        result.RetryAfter.Should().Be(TimeSpan.MaxValue);
        budgets[0].Remaining.Should().Be(100);
    }

    [Test]
    public async Task Reserve_ZeroAmount_IsAcquiredAndTakesNothing()
    {
        await ReserveAsync(new CounterRequest(PerMinute, "g", 3));

        var (result, budgets) = await ReserveAsync(new CounterRequest(PerMinute, "g", 0));

        result.IsAcquired.Should().BeTrue();
        budgets[0].Reserved.Should().Be(0);
        budgets[0].Remaining.Should().Be(0);
    }

    [Test]
    public async Task Release_GivesTheUnitsBackInEveryCounter()
    {
        await ReserveAsync(new CounterRequest(PerMinute, "g", 2));
        var (result, budgets) = await ReserveAsync(new CounterRequest(PerMinute, "g", 1), new CounterRequest(Spend, "g", 100));
        result.IsAcquired.Should().BeTrue();

        await _store.ReleaseAsync(budgets);

        var after = await BudgetsAsync(new CounterRequest(PerMinute, "g", 1), new CounterRequest(Spend, "g", 1));
        after[0].Remaining.Should().Be(1);
        after[1].Remaining.Should().Be(100);
    }

    [Test]
    public async Task Release_Twice_GivesBackOnlyOnce()
    {
        await ReserveAsync(new CounterRequest(Spend, "g", 40));
        var (_, budgets) = await ReserveAsync(new CounterRequest(Spend, "g", 30));

        await _store.ReleaseAsync(budgets);
        await _store.ReleaseAsync(budgets);

        (await BudgetsAsync(new CounterRequest(Spend, "g", 1)))[0].Remaining.Should().Be(60);
    }

    [Test]
    public async Task GetBudgets_ReservesNothing_AndReportsRetryAfterForTheAmount()
    {
        await ReserveAsync(new CounterRequest(PerMinute, "g", 3));
        _time.Advance(TimeSpan.FromSeconds(20));

        var budgets = await BudgetsAsync(new CounterRequest(PerMinute, "g", 1), new CounterRequest(Spend, "g", 5));

        budgets[0].Reserved.Should().Be(0);
        budgets[0].Remaining.Should().Be(0);
        budgets[0].RetryAfter.Should().Be(TimeSpan.FromSeconds(40));
        budgets[1].Remaining.Should().Be(100);
        budgets[1].RetryAfter.Should().Be(TimeSpan.Zero);
        (await BudgetsAsync(new CounterRequest(Spend, "g", 5)))[0].Remaining.Should().Be(100);
    }

    [Test]
    public async Task Reserve_SameCounterTwiceInOneCall_IsRejected()
    {
        var act = () => ReserveAsync(new CounterRequest(PerMinute, "g", 1), new CounterRequest(PerMinute, "g", 1));

        await act.Should().ThrowAsync<ArgumentException>().WithMessage("*appears twice*");
    }

    [Test]
    public async Task Reserve_BudgetsShorterThanRequests_IsRejected()
    {
        var act = async () => await _store.TryReserveAsync(new[] { new CounterRequest(PerMinute, "g", 1) }, Memory<CounterBudget>.Empty);

        await act.Should().ThrowAsync<ArgumentException>();
    }

    [TestCase("with{brace")]
    [TestCase("with}brace")]
    [TestCase("")]
    public void Create_PrefixThatBreaksTheHashTag_IsRejected(string prefix)
    {
        var act = () => new RedisCounterStore(RedisTestServer.Connection, new RedisCounterStoreOptions { KeyPrefix = prefix });

        act.Should().Throw<ArgumentException>();
    }

    [Test]
    public async Task Reserve_ClockThatStepsBack_StillCountsEverythingInTheLatestWindow()
    {
        var prefix = RedisTestServer.UniquePrefix();
        var ahead = new FakeTimeProvider(_time.GetUtcNow() + TimeSpan.FromSeconds(30));
        await CreateStore(ahead, prefix).TryReserveAsync(new[] { new CounterRequest(PerMinute, "g", 3) }, new CounterBudget[1]);
        ahead.Advance(TimeSpan.FromSeconds(61));
        (await ReserveOnAsync(CreateStore(ahead, prefix), new CounterRequest(PerMinute, "g", 1))).Result.IsAcquired.Should().BeTrue();

        // The lagging instance decides at the latest time seen (91 s on), when the first three units had left the window.
        var (result, _) = await ReserveOnAsync(CreateStore(_time, prefix), new CounterRequest(PerMinute, "g", 2));
        result.IsAcquired.Should().BeTrue();

        // Those units were recorded at the latest time, not at the lagging clock's: 61 s later on the lagging clock
        // they are still in the window, so that with the earlier three no 60 s interval ever held six.
        _time.Advance(TimeSpan.FromSeconds(61));
        var (refused, _) = await ReserveOnAsync(CreateStore(_time, prefix), new CounterRequest(PerMinute, "g", 1));
        refused.IsAcquired.Should().BeFalse();
        refused.RetryAfter.Should().Be(TimeSpan.FromSeconds(60));
    }

    private Task<(CounterReservationResult Result, CounterBudget[] Budgets)> ReserveAsync(params CounterRequest[] requests) =>
        ReserveOnAsync(_store, requests);

    internal static async Task<(CounterReservationResult Result, CounterBudget[] Budgets)> ReserveOnAsync(CounterStore store, params CounterRequest[] requests)
    {
        var budgets = new CounterBudget[requests.Length];
        var result = await store.TryReserveAsync(requests, budgets);
        return (result, budgets);
    }

    private async Task<CounterBudget[]> BudgetsAsync(params CounterRequest[] requests)
    {
        var budgets = new CounterBudget[requests.Length];
        await _store.GetBudgetsAsync(requests, budgets);
        return budgets;
    }
}
