using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;

namespace PolicyLayer.TestUtils.Counters;

/// <summary>
/// The behaviour every <see cref="CounterStore"/> must have (the runtime's <c>BaseRateLimiterTests</c>):
/// a store's test project inherits this class and says how to create the store on a fake clock.
/// </summary>
/// <remarks>
/// Time starts at a whole second and moves in whole milliseconds, so a store that keeps times in
/// milliseconds must still answer every <see cref="CounterBudget.RetryAfter"/> exactly.
/// Each test uses counters with fresh names, so stores that share a server do not see each other's units.
/// </remarks>
public abstract class CounterStoreContractTests
{
    /// <summary>The fake clock's start: a calendar minute, so that tests can cross calendar boundaries.</summary>
    protected static readonly DateTimeOffset Start = new(2025, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    /// <summary>The fake clock of the current test.</summary>
    protected FakeTimeProvider Time { get; private set; } = null!;

    /// <summary>The store under test.</summary>
    protected CounterStore Store { get; private set; } = null!;

    /// <summary>Creates the store under test on <paramref name="time"/>.</summary>
    protected abstract CounterStore CreateStore(FakeTimeProvider time);

    /// <summary>Disposes the store after each test; override to clean up a server.</summary>
    protected virtual ValueTask DisposeStoreAsync(CounterStore store) => store switch
    {
        IAsyncDisposable asyncDisposable => asyncDisposable.DisposeAsync(),
        IDisposable disposable => Dispose(disposable),
        _ => ValueTask.CompletedTask,
    };

    [SetUp]
    public void CreateStoreUnderTest()
    {
        Time = new FakeTimeProvider(Start);
        Store = CreateStore(Time);
    }

    [TearDown]
    public async Task DisposeStoreUnderTest()
    {
        if (Store is not null)
        {
            await DisposeStoreAsync(Store);
        }
    }

    [Test]
    public async Task TryReserve_UpToMax_IsAcquired_AndTheNextUnitIsRefused()
    {
        CounterDefinition counter = NewCounter(max: 30, Minute);

        for (int i = 0; i < 30; i++)
        {
            (CounterReservationResult result, CounterBudget[] budgets) = await ReserveAsync(new CounterRequest(counter, "grant-1", 1));
            result.IsAcquired.Should().BeTrue("unit {0} of 30 fits", i + 1);
            budgets[0].Reserved.Should().Be(1);
            budgets[0].Remaining.Should().Be(30 - i - 1);
            budgets[0].RetryAfter.Should().Be(TimeSpan.Zero);
            Time.Advance(TimeSpan.FromMilliseconds(100));
        }

        (CounterReservationResult refused, CounterBudget[] refusedBudgets) = await ReserveAsync(new CounterRequest(counter, "grant-1", 1));
        refused.IsAcquired.Should().BeFalse();
        refused.BlockedIndex.Should().Be(0);
        refusedBudgets[0].Reserved.Should().Be(0);
        refusedBudgets[0].Remaining.Should().Be(0);
    }

    [Test]
    public async Task TryReserve_WhenFull_RetryAfterIsExactlyUntilTheOldestUnitLeaves()
    {
        CounterDefinition counter = NewCounter(max: 3, Minute);
        await AcquireAsync(counter, "k", 1);                      // 12:00:00.000, leaves at 12:01:00.000
        Time.Advance(TimeSpan.FromMilliseconds(1_234));
        await AcquireAsync(counter, "k", 1);                      // 12:00:01.234
        Time.Advance(TimeSpan.FromSeconds(20));
        await AcquireAsync(counter, "k", 1);                      // 12:00:21.234
        Time.Advance(TimeSpan.FromMilliseconds(17_001));          // now 12:00:38.235

        (CounterReservationResult result, CounterBudget[] budgets) = await ReserveAsync(new CounterRequest(counter, "k", 1));

        TimeSpan expected = TimeSpan.FromMilliseconds(60_000 - 38_235);
        result.IsAcquired.Should().BeFalse();
        result.RetryAfter.Should().Be(expected);
        budgets[0].RetryAfter.Should().Be(expected);
    }

    [Test]
    public async Task TryReserve_RetryAfterForSeveralUnits_WaitsUntilAsManyUnitsLeave()
    {
        CounterDefinition counter = NewCounter(max: 4, Minute);
        for (int i = 0; i < 4; i++)
        {
            await AcquireAsync(counter, "k", 1);                  // at 0 s, 5 s, 10 s, 15 s
            Time.Advance(TimeSpan.FromSeconds(5));
        }

        // Three units fit only once the third-oldest (at 10 s) has left: at 70 s, now is 20 s.
        CounterBudget budget = await BudgetAsync(counter, "k", 3);
        budget.RetryAfter.Should().Be(TimeSpan.FromSeconds(50));
        budget.Remaining.Should().Be(0);
    }

    [Test]
    public async Task TryReserve_WhenFull_IsRefusedAtTheCalendarBoundary_AndAdmittedExactlyWhenTheOldestUnitLeaves()
    {
        CounterDefinition counter = NewCounter(max: 30, Minute);
        Time.Advance(TimeSpan.FromMilliseconds(59_500));          // 12:00:59.500
        for (int i = 0; i < 30; i++)
        {
            await AcquireAsync(counter, "k", 1);
        }

        Time.Advance(TimeSpan.FromMilliseconds(500));             // 12:01:00.000, a new calendar minute
        (CounterReservationResult atBoundary, _) = await ReserveAsync(new CounterRequest(counter, "k", 1));
        atBoundary.IsAcquired.Should().BeFalse("the 30 units of 12:00:59.5 are still inside the last minute");
        atBoundary.RetryAfter.Should().Be(TimeSpan.FromMilliseconds(59_500));

        Time.Advance(TimeSpan.FromMilliseconds(59_499));          // 12:01:59.499
        (CounterReservationResult justBefore, _) = await ReserveAsync(new CounterRequest(counter, "k", 1));
        justBefore.IsAcquired.Should().BeFalse();
        justBefore.RetryAfter.Should().Be(TimeSpan.FromMilliseconds(1));

        Time.Advance(TimeSpan.FromMilliseconds(1));               // 12:01:59.500: the oldest units leave
        for (int i = 0; i < 30; i++)
        {
            (CounterReservationResult again, _) = await ReserveAsync(new CounterRequest(counter, "k", 1));
            again.IsAcquired.Should().BeTrue("unit {0} of the new window fits", i + 1);
        }

        (CounterReservationResult full, _) = await ReserveAsync(new CounterRequest(counter, "k", 1));
        full.IsAcquired.Should().BeFalse();
    }

    [Test]
    public async Task TryReserve_DifferentScopeKeys_CountSeparately()
    {
        CounterDefinition counter = NewCounter(max: 2, Minute);
        await AcquireAsync(counter, "grant-a", 2);

        (CounterReservationResult other, CounterBudget[] budgets) = await ReserveAsync(new CounterRequest(counter, "grant-b", 2));
        (CounterReservationResult same, _) = await ReserveAsync(new CounterRequest(counter, "grant-a", 1));

        other.IsAcquired.Should().BeTrue();
        budgets[0].Remaining.Should().Be(0);
        same.IsAcquired.Should().BeFalse();
    }

    [Test]
    public async Task TryReserve_EqualDefinitions_ShareOneBudget()
    {
        CounterDefinition counter = NewCounter(max: 2, Minute);
        var twin = new CounterDefinition(counter.Name, counter.Max, counter.Window, counter.Scope);
        await AcquireAsync(counter, "k", 2);

        (CounterReservationResult result, _) = await ReserveAsync(new CounterRequest(twin, "k", 1));

        result.IsAcquired.Should().BeFalse();
    }

    [Test]
    public async Task TryReserve_SeveralCountersWithRoom_ReservesInEach()
    {
        CounterDefinition perGrant = NewCounter(max: 5, Minute);
        CounterDefinition perSession = NewCounter(max: 3, Minute, CounterScope.Session);
        CounterDefinition global = NewCounter(max: 10, TimeSpan.FromHours(1), CounterScope.Global);

        (CounterReservationResult result, CounterBudget[] budgets) = await ReserveAsync(
            new CounterRequest(perGrant, "g", 2),
            new CounterRequest(perSession, "s", 1),
            new CounterRequest(global, string.Empty, 4));

        result.IsAcquired.Should().BeTrue();
        budgets.Select(b => b.Reserved).Should().Equal(2, 1, 4);
        budgets.Select(b => b.Remaining).Should().Equal(3, 2, 6);
        budgets.Select(b => b.Counter).Should().Equal(perGrant, perSession, global);
        budgets.Select(b => b.ScopeKey).Should().Equal("g", "s", string.Empty);
    }

    [Test]
    public async Task TryReserve_SecondCounterFull_RefusesAll_AndLeavesTheFirstUntouched()
    {
        CounterDefinition first = NewCounter(max: 5, Minute);
        CounterDefinition second = NewCounter(max: 2, Minute, CounterScope.Session);
        await AcquireAsync(second, "s", 2);
        Time.Advance(TimeSpan.FromSeconds(10));

        (CounterReservationResult result, CounterBudget[] budgets) = await ReserveAsync(
            new CounterRequest(first, "g", 1),
            new CounterRequest(second, "s", 1));

        result.IsAcquired.Should().BeFalse();
        result.BlockedIndex.Should().Be(1);
        result.RetryAfter.Should().Be(TimeSpan.FromSeconds(50));
        budgets.Select(b => b.Reserved).Should().Equal(0, 0);
        budgets[0].Remaining.Should().Be(5);
        budgets[0].RetryAfter.Should().Be(TimeSpan.Zero);
        budgets[1].RetryAfter.Should().Be(TimeSpan.FromSeconds(50));
        (await BudgetAsync(first, "g")).Remaining.Should().Be(5, "a refused reservation takes nothing");
    }

    [Test]
    public async Task TryReserve_SeveralCountersFull_ReportsTheOneThatFreesUpLast()
    {
        CounterDefinition early = NewCounter(max: 1, Minute);
        CounterDefinition late = NewCounter(max: 1, TimeSpan.FromMinutes(5));
        await AcquireAsync(early, "k", 1);
        await AcquireAsync(late, "k", 1);

        (CounterReservationResult result, _) = await ReserveAsync(
            new CounterRequest(early, "k", 1),
            new CounterRequest(late, "k", 1));

        result.BlockedIndex.Should().Be(1);
        result.RetryAfter.Should().Be(TimeSpan.FromMinutes(5));
    }

    [Test]
    public async Task Release_GivesTheUnitsBack()
    {
        CounterDefinition counter = NewCounter(max: 3, Minute);
        await AcquireAsync(counter, "k", 1);
        (_, CounterBudget[] held) = await ReserveAsync(new CounterRequest(counter, "k", 2));
        (await ReserveAsync(new CounterRequest(counter, "k", 1))).Result.IsAcquired.Should().BeFalse();

        await Store.ReleaseAsync(held);

        (await BudgetAsync(counter, "k")).Remaining.Should().Be(2);
        (await ReserveAsync(new CounterRequest(counter, "k", 2))).Result.IsAcquired.Should().BeTrue();
    }

    [Test]
    public async Task Release_OfALaterReservation_KeepsTheEarlierOnesExpiry()
    {
        CounterDefinition counter = NewCounter(max: 10, Minute);
        await AcquireAsync(counter, "k", 4);                      // at 0 s
        Time.Advance(TimeSpan.FromSeconds(30));
        (_, CounterBudget[] later) = await ReserveAsync(new CounterRequest(counter, "k", 6)); // at 30 s

        await Store.ReleaseAsync(later);

        CounterBudget budget = await BudgetAsync(counter, "k", 10);
        budget.Remaining.Should().Be(6);
        budget.RetryAfter.Should().Be(TimeSpan.FromSeconds(30), "the 4 units of 0 s still leave at 60 s");
    }

    [Test]
    public async Task Release_OfSeveralCounters_GivesEachItsUnitsBack()
    {
        CounterDefinition first = NewCounter(max: 5, Minute);
        CounterDefinition second = NewCounter(max: 5, TimeSpan.FromHours(1), CounterScope.Global);
        (CounterReservationResult result, CounterBudget[] held) = await ReserveAsync(
            new CounterRequest(first, "g", 3),
            new CounterRequest(second, string.Empty, 5));
        result.IsAcquired.Should().BeTrue();

        await Store.ReleaseAsync(held);

        (await BudgetAsync(first, "g")).Remaining.Should().Be(5);
        (await BudgetAsync(second, string.Empty)).Remaining.Should().Be(5);
    }

    [Test]
    public async Task Release_AfterTheUnitsLeftTheWindow_FreesNothingMore()
    {
        CounterDefinition counter = NewCounter(max: 2, Minute);
        (_, CounterBudget[] old) = await ReserveAsync(new CounterRequest(counter, "k", 2));
        Time.Advance(Minute);
        await AcquireAsync(counter, "k", 2);

        await Store.ReleaseAsync(old);

        CounterBudget budget = await BudgetAsync(counter, "k");
        budget.Remaining.Should().Be(0, "the new units are not the old reservation's");
        (await ReserveAsync(new CounterRequest(counter, "k", 1))).Result.IsAcquired.Should().BeFalse();
    }

    [Test]
    public async Task Release_Twice_FreesTheUnitsOnce_NotThoseOfCallsReservedAtTheSameInstant()
    {
        CounterDefinition counter = NewCounter(max: 3, Minute);
        (_, CounterBudget[] first) = await ReserveAsync(new CounterRequest(counter, "k", 1));
        await AcquireAsync(counter, "k", 1);
        await AcquireAsync(counter, "k", 1);

        await Store.ReleaseAsync(first);
        await Store.ReleaseAsync(first);
        await Store.ReleaseAsync(first);

        (await BudgetAsync(counter, "k")).Remaining.Should().Be(1, "the two other calls still hold their units");
        (await ReserveAsync(new CounterRequest(counter, "k", 1))).Result.IsAcquired.Should().BeTrue();
        (await ReserveAsync(new CounterRequest(counter, "k", 1))).Result.IsAcquired.Should().BeFalse();
    }

    [Test]
    public async Task Release_Twice_OfSpendAmountsInOneInstant_FreesTheAmountOnce()
    {
        // A spend cap keeps its times on a coarse grid: these three reservations share one time.
        CounterDefinition spend = NewCounter(max: 50_000, TimeSpan.FromDays(1));
        await AcquireAsync(spend, "g", 1);
        Time.Advance(TimeSpan.FromMilliseconds(1));
        (_, CounterBudget[] small) = await ReserveAsync(new CounterRequest(spend, "g", 100));
        Time.Advance(TimeSpan.FromMilliseconds(1));
        await AcquireAsync(spend, "g", 20_000);
        Time.Advance(TimeSpan.FromMilliseconds(1));
        await AcquireAsync(spend, "g", 29_899);

        for (int i = 0; i < 5; i++)
        {
            await Store.ReleaseAsync(small);
        }

        (await BudgetAsync(spend, "g")).Remaining.Should().Be(100, "only the 100 given back are free; 49,900 are still held");
        (await ReserveAsync(new CounterRequest(spend, "g", 101))).Result.IsAcquired.Should().BeFalse();
    }

    [Test]
    public async Task Release_OfOneReservationFromManyThreadsAtOnce_FreesItOnce()
    {
        CounterDefinition counter = NewCounter(max: 10, Minute);
        (_, CounterBudget[] held) = await ReserveAsync(new CounterRequest(counter, "k", 2));
        for (int i = 0; i < 8; i++)
        {
            await AcquireAsync(counter, "k", 1);
        }

        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () => await Store.ReleaseAsync(held))));

        (await BudgetAsync(counter, "k")).Remaining.Should().Be(2);
    }

    [Test]
    public async Task Release_Again_AfterTheCounterEmptiedAndFilledAgainInTheSameInstant_FreesNothing()
    {
        CounterDefinition counter = NewCounter(max: 2, Minute);
        (_, CounterBudget[] first) = await ReserveAsync(new CounterRequest(counter, "k", 1));
        await Store.ReleaseAsync(first);
        await AcquireAsync(counter, "k", 2);

        await Store.ReleaseAsync(first);

        (await BudgetAsync(counter, "k")).Remaining.Should().Be(0, "the units held now are the second call's");
    }

    [Test]
    public async Task Release_OfARefusedReservation_GivesNothing()
    {
        CounterDefinition counter = NewCounter(max: 1, Minute);
        await AcquireAsync(counter, "k", 1);
        (_, CounterBudget[] refused) = await ReserveAsync(new CounterRequest(counter, "k", 1));

        await Store.ReleaseAsync(refused);

        (await BudgetAsync(counter, "k")).Remaining.Should().Be(0);
    }

    [Test]
    public async Task TryReserve_SpendAmounts_ShareTheBudget_AndWaitForEnoughUnitsToLeave()
    {
        CounterDefinition refunds = NewCounter(max: 50_000, TimeSpan.FromDays(1));
        await AcquireAsync(refunds, "g", 30_000);                 // 12:00
        Time.Advance(TimeSpan.FromHours(1));
        await AcquireAsync(refunds, "g", 15_000);                 // 13:00
        Time.Advance(TimeSpan.FromHours(1));                      // 14:00

        (CounterReservationResult tooMuch, CounterBudget[] refused) = await ReserveAsync(new CounterRequest(refunds, "g", 6_000));
        tooMuch.IsAcquired.Should().BeFalse();
        refused[0].Remaining.Should().Be(5_000);
        refused[0].RetryAfter.Should().Be(TimeSpan.FromHours(22), "6,000 fits once the 30,000 of 12:00 leave, at 12:00 next day");

        (CounterReservationResult exact, CounterBudget[] budgets) = await ReserveAsync(new CounterRequest(refunds, "g", 5_000));
        exact.IsAcquired.Should().BeTrue();
        budgets[0].Reserved.Should().Be(5_000);
        budgets[0].Remaining.Should().Be(0);
    }

    [Test]
    public async Task TryReserve_AmountAboveMax_IsRefusedForever_AndTakesNothing()
    {
        CounterDefinition counter = NewCounter(max: 100, Minute);

        (CounterReservationResult result, CounterBudget[] budgets) = await ReserveAsync(new CounterRequest(counter, "k", 101));

        result.IsAcquired.Should().BeFalse();
        result.RetryAfter.Should().Be(TimeSpan.MaxValue);
        budgets[0].Reserved.Should().Be(0);
        budgets[0].Remaining.Should().Be(100);
        (await BudgetAsync(counter, "k", 100)).RetryAfter.Should().Be(TimeSpan.Zero);
    }

    [Test]
    public async Task TryReserve_ZeroAmount_IsAcquiredEvenWhenFull_AndHoldsNothing()
    {
        CounterDefinition counter = NewCounter(max: 1, Minute);
        await AcquireAsync(counter, "k", 1);

        (CounterReservationResult result, CounterBudget[] budgets) = await ReserveAsync(new CounterRequest(counter, "k", 0));

        result.IsAcquired.Should().BeTrue();
        budgets[0].Reserved.Should().Be(0);
        budgets[0].Remaining.Should().Be(0);
        Time.Advance(Minute);
        (await BudgetAsync(counter, "k")).Remaining.Should().Be(1);
    }

    [Test]
    public async Task GetBudgets_ReportsRemainingWithoutReserving()
    {
        CounterDefinition counter = NewCounter(max: 5, Minute);
        CounterDefinition unused = NewCounter(max: 7, Minute);
        await AcquireAsync(counter, "k", 2);

        var requests = new[] { new CounterRequest(counter, "k", 1), new CounterRequest(unused, "k", 1) };
        var first = new CounterBudget[2];
        var second = new CounterBudget[2];
        await Store.GetBudgetsAsync(requests, first);
        await Store.GetBudgetsAsync(requests, second);

        first.Select(b => b.Remaining).Should().Equal(3, 7);
        second.Select(b => b.Remaining).Should().Equal(3, 7);
        first.Select(b => b.Reserved).Should().Equal(0, 0);
        first.Select(b => b.RetryAfter).Should().Equal(TimeSpan.Zero, TimeSpan.Zero);
    }

    [Test]
    public async Task GetBudgets_ForAnAmountThatDoesNotFit_ReportsWhenItWill()
    {
        CounterDefinition counter = NewCounter(max: 5, Minute);
        await AcquireAsync(counter, "k", 2);                      // at 0 s
        Time.Advance(TimeSpan.FromSeconds(15));
        await AcquireAsync(counter, "k", 3);                      // at 15 s
        Time.Advance(TimeSpan.FromSeconds(15));                   // now 30 s

        (await BudgetAsync(counter, "k", 2)).RetryAfter.Should().Be(TimeSpan.FromSeconds(30));
        (await BudgetAsync(counter, "k", 3)).RetryAfter.Should().Be(TimeSpan.FromSeconds(45));
        (await BudgetAsync(counter, "k", 6)).RetryAfter.Should().Be(TimeSpan.MaxValue);
    }

    [Test]
    public async Task TryReserve_AfterAQuietWindow_StartsEmpty()
    {
        CounterDefinition counter = NewCounter(max: 2, TimeSpan.FromSeconds(1));
        await AcquireAsync(counter, "k", 2);

        Time.Advance(TimeSpan.FromHours(3));

        (CounterReservationResult result, CounterBudget[] budgets) = await ReserveAsync(new CounterRequest(counter, "k", 2));
        result.IsAcquired.Should().BeTrue();
        budgets[0].Remaining.Should().Be(0);
    }

    /// <summary>A counter with a name no other test uses.</summary>
    protected static CounterDefinition NewCounter(long max, TimeSpan window, CounterScope scope = CounterScope.Grant) =>
        new($"{TestContext.CurrentContext.Test.MethodName}-{Guid.NewGuid():N}", max, window, scope);

    /// <summary>Tries to reserve <paramref name="requests"/>; returns the result and the budgets.</summary>
    protected async Task<(CounterReservationResult Result, CounterBudget[] Budgets)> ReserveAsync(params CounterRequest[] requests)
    {
        var budgets = new CounterBudget[requests.Length];
        CounterReservationResult result = await Store.TryReserveAsync(requests, budgets);
        return (result, budgets);
    }

    /// <summary>Reserves <paramref name="amount"/> units and fails the test if they do not fit.</summary>
    protected async Task<CounterBudget> AcquireAsync(CounterDefinition counter, string scopeKey, long amount)
    {
        (CounterReservationResult result, CounterBudget[] budgets) = await ReserveAsync(new CounterRequest(counter, scopeKey, amount));
        result.IsAcquired.Should().BeTrue("the test's setup reserves {0} units of {1}", amount, counter);
        return budgets[0];
    }

    /// <summary>Reads one counter's budget for <paramref name="amount"/>.</summary>
    protected async Task<CounterBudget> BudgetAsync(CounterDefinition counter, string scopeKey, long amount = 1)
    {
        var budgets = new CounterBudget[1];
        await Store.GetBudgetsAsync(new[] { new CounterRequest(counter, scopeKey, amount) }, budgets);
        return budgets[0];
    }

    private static ValueTask Dispose(IDisposable disposable)
    {
        disposable.Dispose();
        return ValueTask.CompletedTask;
    }
}
