using Microsoft.Extensions.Time.Testing;

namespace PolicyLayer.Core.Tests.Counters;

/// <summary>What the in-memory store does beyond the contract: threads, idle expiry, clock resolution, long logs.</summary>
public class InMemoryCounterStoreTests
{
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Test]
    public void TryReserve_SixteenThreadsHammeringOneKey_AdmitExactlyMax()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time });
        var counter = new CounterDefinition("calls", 1_000, TimeSpan.FromHours(1), CounterScope.Grant);
        const int Threads = 16;
        const int CallsPerThread = 100_000 / Threads;
        int admitted = 0;

        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, _ =>
        {
            var requests = new[] { new CounterRequest(counter, "grant-1", 1) };
            var budgets = new CounterBudget[1];
            for (int i = 0; i < CallsPerThread; i++)
            {
                if (store.TryReserveAsync(requests, budgets).Completed().IsAcquired)
                {
                    Interlocked.Increment(ref admitted);
                }
            }
        });

        admitted.Should().Be(1_000);
    }

    [Test]
    public void TryReserve_ThreadsNamingTheSameCountersInOppositeOrders_NeverDeadlock_AndTakeAllOrNothing()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time });
        var first = new CounterDefinition("first", 2_000, TimeSpan.FromHours(1), CounterScope.Global);
        var second = new CounterDefinition("second", 3_000, TimeSpan.FromHours(1), CounterScope.Global);
        var third = new CounterDefinition("third", 1_000_000, TimeSpan.FromHours(1), CounterScope.Global);
        int admittedForward = 0, admittedBackward = 0;

        Task[] workers = Enumerable.Range(0, 8).Select(t => Task.Factory.StartNew(() =>
        {
            bool forward = t % 2 == 0;
            CounterRequest[] requests = forward
                ? [new CounterRequest(first, string.Empty, 1), new CounterRequest(second, string.Empty, 1)]
                : [new CounterRequest(third, string.Empty, 1), new CounterRequest(second, string.Empty, 1), new CounterRequest(first, string.Empty, 1)];
            var budgets = new CounterBudget[requests.Length];
            for (int i = 0; i < 50_000; i++)
            {
                if (store.TryReserveAsync(requests, budgets).Completed().IsAcquired)
                {
                    Interlocked.Increment(ref forward ? ref admittedForward : ref admittedBackward);
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        Task.WaitAll(workers, TimeSpan.FromSeconds(60)).Should().BeTrue("locks are taken in one order whatever the request order");
        (admittedForward + admittedBackward).Should().Be(2_000, "'first' (max 2,000) is in every reservation");
        var budgets = new CounterBudget[3];
        store.GetBudgetsAsync(new[] { new CounterRequest(first, string.Empty, 1), new CounterRequest(second, string.Empty, 1), new CounterRequest(third, string.Empty, 1) }, budgets)
            .AsTask().GetAwaiter().GetResult();
        budgets.Select(b => b.Remaining).Should().Equal(0, 1_000, 1_000_000 - admittedBackward);
    }

    [Test]
    public void TryReserve_ThreadsRacingTheIdleSweep_NeverAdmitMoreThanMaxPerWindow()
    {
        // Each phase is one window: the previous phase's units have just left, so the sweep retires the
        // window while reservers race to use it. A unit that landed in a retired window would be lost,
        // and the next reserver would start an empty window: more than max in a phase.
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time, IdleSweepInterval = Timeout.InfiniteTimeSpan });
        TimeSpan window = TimeSpan.FromSeconds(1);
        var perKey = new CounterDefinition("per-key", 3, window, CounterScope.Session);
        var shared = new CounterDefinition("shared", 1_000_000, window, CounterScope.Global);
        const int Reservers = 6;
        const int Phases = 200;
        int[] admittedPerPhase = new int[Phases];
        int phase = 0;
        using var startPhase = new Barrier(Reservers + 2);
        using var endPhase = new Barrier(Reservers + 2);

        var threads = new List<Thread>();
        for (int t = 0; t < Reservers; t++)
        {
            bool twoCounters = t % 2 == 0;
            threads.Add(new Thread(() =>
            {
                CounterRequest[] requests = twoCounters
                    ? [new CounterRequest(shared, string.Empty, 1), new CounterRequest(perKey, "k", 1)]
                    : [new CounterRequest(perKey, "k", 1)];
                var budgets = new CounterBudget[requests.Length];
                var random = new Random(requests.Length);
                for (int p = 0; p < Phases; p++)
                {
                    startPhase.SignalAndWait();
                    for (int i = 0; i < 20; i++)
                    {
                        // Stagger the first calls so that some meet the sweep holding the window's lock.
                        Thread.SpinWait(random.Next(0, 200));
                        if (store.TryReserveAsync(requests, budgets).Completed().IsAcquired)
                        {
                            Interlocked.Increment(ref admittedPerPhase[Volatile.Read(ref phase)]);
                        }
                    }

                    endPhase.SignalAndWait();
                }
            }));
        }

        threads.Add(new Thread(() =>
        {
            for (int p = 0; p < Phases; p++)
            {
                startPhase.SignalAndWait();
                for (int i = 0; i < 50; i++)
                {
                    store.SweepIdleCounters();
                }

                endPhase.SignalAndWait();
            }
        }));

        threads.ForEach(t => t.Start());
        for (int p = 0; p < Phases; p++)
        {
            Volatile.Write(ref phase, p);
            startPhase.SignalAndWait();
            endPhase.SignalAndWait();
            time.Advance(window);
        }

        threads.ForEach(t => t.Join());
        admittedPerPhase.Should().OnlyContain(n => n == 3, "every window admits exactly max: never more, and with 120 tries never fewer");
    }

    [Test]
    public void TryReserve_WaitingOnAWindowTheSweepRetires_ReservesInTheWindowThatReplacesIt()
    {
        // The interleaving MemoryCache cannot rule out: a caller has found the window and waits for its
        // lock while the sweep forgets it. The caller must not put its unit where nobody will look.
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time, IdleSweepInterval = Timeout.InfiniteTimeSpan });
        var counter = new CounterDefinition("calls", 2, TimeSpan.FromMinutes(1), CounterScope.Session);
        Reserve(store, counter, "k", 2);
        time.Advance(TimeSpan.FromMinutes(1));
        SlidingWindowLog window = store.FindWindow(counter, "k")!;
        CounterReservationResult late = default;
        var caller = new Thread(() => late = Reserve(store, counter, "k", 1));

        lock (window)
        {
            caller.Start();
            SpinWait.SpinUntil(() => (caller.ThreadState & ThreadState.WaitSleepJoin) != 0, TimeSpan.FromSeconds(10)).Should().BeTrue();
            store.SweepIdleCounters();                            // re-enters the lock this thread holds
            store.FindWindow(counter, "k").Should().BeNull("the sweep forgot the empty window");
        }

        caller.Join();
        late.IsAcquired.Should().BeTrue();
        var budgets = new CounterBudget[1];
        store.GetBudgetsAsync(new[] { new CounterRequest(counter, "k", 1) }, budgets).AsTask().GetAwaiter().GetResult();
        budgets[0].Remaining.Should().Be(1, "the unit is in the window every later caller finds");
        Reserve(store, counter, "k", 1).IsAcquired.Should().BeTrue();
        Reserve(store, counter, "k", 1).IsAcquired.Should().BeFalse("two units in a minute, never three");
    }

    [Test]
    public void Sweep_AfterTheUnitsLeave_ForgetsQuietCounters()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time, IdleSweepInterval = TimeSpan.FromSeconds(30) });
        var counter = new CounterDefinition("calls", 5, TimeSpan.FromMinutes(1), CounterScope.Session);
        for (int i = 0; i < 1_000; i++)
        {
            Reserve(store, counter, $"session-{i}", 1).IsAcquired.Should().BeTrue();
        }

        store.WindowCount.Should().Be(1_000);
        time.Advance(TimeSpan.FromSeconds(30));                   // the timer fires; every unit is still live
        store.WindowCount.Should().Be(1_000);

        time.Advance(TimeSpan.FromSeconds(30));                   // the units leave and the timer fires again

        store.WindowCount.Should().Be(0);
    }

    [Test]
    public void Sweep_KeepsCountersThatHoldLiveUnits_WithTheirUnits()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time, IdleSweepInterval = Timeout.InfiniteTimeSpan });
        var counter = new CounterDefinition("calls", 2, TimeSpan.FromMinutes(1), CounterScope.Session);
        Reserve(store, counter, "quiet", 2);
        time.Advance(TimeSpan.FromSeconds(50));
        Reserve(store, counter, "busy", 2);
        time.Advance(TimeSpan.FromSeconds(10));

        store.SweepIdleCounters();

        store.WindowCount.Should().Be(1);
        CounterReservationResult busy = Reserve(store, counter, "busy", 1);
        busy.IsAcquired.Should().BeFalse("the sweep must not forget live units");
        busy.RetryAfter.Should().Be(TimeSpan.FromSeconds(50));
        Reserve(store, counter, "quiet", 2).IsAcquired.Should().BeTrue();
    }

    [Test]
    public void Dispose_StopsTheSweep_AndRefusesFurtherCalls()
    {
        var time = new FakeTimeProvider(Start);
        var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time, IdleSweepInterval = TimeSpan.FromSeconds(1) });
        var counter = new CounterDefinition("calls", 1, TimeSpan.FromMilliseconds(500), CounterScope.Session);
        Reserve(store, counter, "k", 1);

        store.Dispose();
        time.Advance(TimeSpan.FromSeconds(5));

        store.WindowCount.Should().Be(1);
        store.Invoking(s => s.TryReserveAsync(new[] { new CounterRequest(counter, "k", 1) }, new CounterBudget[1]))
            .Should().Throw<ObjectDisposedException>();
    }

    [Test]
    public void TryReserve_ATickBeforeTheOldestUnitLeaves_IsRefused_AndAtThatTickAdmitted()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time });
        var counter = new CounterDefinition("calls", 1, TimeSpan.FromSeconds(90), CounterScope.Session);
        time.Advance(TimeSpan.FromTicks(12_345));
        Reserve(store, counter, "k", 1);

        time.Advance(TimeSpan.FromSeconds(90) - TimeSpan.FromTicks(1));
        CounterReservationResult early = Reserve(store, counter, "k", 1);
        time.Advance(TimeSpan.FromTicks(1));
        CounterReservationResult onTime = Reserve(store, counter, "k", 1);

        early.IsAcquired.Should().BeFalse();
        early.RetryAfter.Should().Be(TimeSpan.FromTicks(1));
        onTime.IsAcquired.Should().BeTrue();
    }

    [Test]
    public void TryReserve_NanosecondClockAndDayWindow_HoldsAUnitAtMostOneQuantumLonger()
    {
        // A 1 GHz clock (Stopwatch on Linux) and a day: offsets are 100 µs quanta, the documented bound.
        var clock = new ManualClock(frequency: 1_000_000_000);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = clock, IdleSweepInterval = Timeout.InfiniteTimeSpan });
        var counter = new CounterDefinition("refunds", 10, TimeSpan.FromDays(1), CounterScope.Grant);
        long day = 86_400L * 1_000_000_000;
        const long Quantum = 100_000;
        CounterTable.ChooseQuantum(day, clock.TimestampFrequency, CounterTable.OffsetsPerWindow).Should().Be(Quantum);

        clock.Now = 5_000_000_000;
        Reserve(store, counter, "g", 1);
        clock.Now += 123_456_789;                                 // not on a quantum boundary
        long second = clock.Now;
        Reserve(store, counter, "g", 9);

        clock.Now = second + day - 1;
        CounterReservationResult early = Reserve(store, counter, "g", 10);
        early.IsAcquired.Should().BeFalse("never over-admits: units are held at least a window");
        early.RetryAfter.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThanOrEqualTo(TimeSpan.FromTicks(Quantum / 100));

        clock.Now = second + day + Quantum - 1;
        Reserve(store, counter, "g", 10).IsAcquired.Should().BeTrue("a unit is held less than one quantum longer than exact");
    }

    [Test]
    public void TryReserve_SpendCounterWithThousandsOfReservations_KeepsItsLogBounded_WithoutEverOverAdmitting()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time });
        var spend = new CounterDefinition("spend", 10_000, TimeSpan.FromSeconds(10), CounterScope.Grant);
        for (int i = 0; i < 3_000; i++)
        {
            Reserve(store, spend, "g", 2).IsAcquired.Should().BeTrue();
            time.Advance(TimeSpan.FromMilliseconds(1));
        }

        // 6,000 units over 0..2.999 s on a 10 ms grid (10 s / 1,022, rounded up to whole milliseconds).
        store.FindWindow(spend, "g")!.EntryCount.Should().BeLessThanOrEqualTo(CounterTable.MaxEntries);
        Reserve(store, spend, "g", 4_000).IsAcquired.Should().BeTrue();
        CounterReservationResult full = Reserve(store, spend, "g", 2);
        full.IsAcquired.Should().BeFalse();
        full.RetryAfter.Should().Be(TimeSpan.FromSeconds(7), "the first units, of 0 s, sit on a grid point and leave at 10 s; now is 3 s");

        // Rounded-up units leave no earlier than exact: at 10 s only the units of 0 s have left.
        time.Advance(TimeSpan.FromSeconds(7));
        Reserve(store, spend, "g", 3).IsAcquired.Should().BeFalse("only the 2 units of 0 s have left");
        time.Advance(TimeSpan.FromMilliseconds(9));
        Reserve(store, spend, "g", 3).IsAcquired.Should().BeFalse("the units of 1..9 ms are held until 10.010 s: under-admission of at most one 10 ms quantum");
        time.Advance(TimeSpan.FromMilliseconds(1));
        Reserve(store, spend, "g", 3).IsAcquired.Should().BeTrue();

        // Every unit has left once the newest unit's window has passed.
        time.Advance(TimeSpan.FromSeconds(3));
        Reserve(store, spend, "g", 9_997).IsAcquired.Should().BeTrue();
    }

    [Test]
    public async Task Release_OfAReservationSharingAGridEntry_GivesOnlyItsUnitsBack()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time });
        var spend = new CounterDefinition("spend", 100_000, TimeSpan.FromMinutes(1), CounterScope.Grant);
        Reserve(store, spend, "g", 1);                            // opens the grid at 0 ms
        time.Advance(TimeSpan.FromMilliseconds(1));
        var seven = new CounterBudget[1];
        (await store.TryReserveAsync(new[] { new CounterRequest(spend, "g", 7) }, seven)).IsAcquired.Should().BeTrue();
        time.Advance(TimeSpan.FromMilliseconds(1));
        Reserve(store, spend, "g", 5);                            // same 59 ms grid point as the 7

        await store.ReleaseAsync(seven);

        var budgets = new CounterBudget[1];
        await store.GetBudgetsAsync(new[] { new CounterRequest(spend, "g", 100_000) }, budgets);
        budgets[0].Remaining.Should().Be(100_000 - 6);
        budgets[0].RetryAfter.Should().Be(TimeSpan.FromMinutes(1) + TimeSpan.FromMilliseconds(59 - 2), "the 5 units leave with their grid point, at 60.059 s");
    }

    [Test]
    public async Task Release_Again_AfterTheSweepRanBetween_FreesNothingOfTheNextReservation()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time, IdleSweepInterval = Timeout.InfiniteTimeSpan });
        var counter = new CounterDefinition("calls", 1, TimeSpan.FromMinutes(1), CounterScope.Grant);
        var first = new CounterBudget[1];
        (await store.TryReserveAsync(new[] { new CounterRequest(counter, "k", 1) }, first)).IsAcquired.Should().BeTrue();
        await store.ReleaseAsync(first);

        // The window is empty, but a window made in its place now could issue the released id again: it is kept.
        store.SweepIdleCounters();
        Reserve(store, counter, "k", 1).IsAcquired.Should().BeTrue();
        await store.ReleaseAsync(first);

        Reserve(store, counter, "k", 1).IsAcquired.Should().BeFalse("the unit held is the second call's");
    }

    [Test]
    public void Sweep_ForgetsACounterWhoseUnitsWereGivenBack_OnceItsLastReservationLeftTheWindow()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time, IdleSweepInterval = Timeout.InfiniteTimeSpan });
        var counter = new CounterDefinition("calls", 1, TimeSpan.FromMinutes(1), CounterScope.Grant);
        var first = new CounterBudget[1];
        store.TryReserveAsync(new[] { new CounterRequest(counter, "k", 1) }, first).AsTask().Result.IsAcquired.Should().BeTrue();
        store.ReleaseAsync(first).AsTask().Wait();

        store.SweepIdleCounters();
        store.WindowCount.Should().Be(1);
        time.Advance(TimeSpan.FromMinutes(1));
        store.SweepIdleCounters();

        store.WindowCount.Should().Be(0);
    }

    [Test]
    public void Sweep_OverMoreCountersThanOneStep_ForgetsThemInShortSteps()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time, IdleSweepInterval = TimeSpan.FromSeconds(30) });
        var counter = new CounterDefinition("calls", 5, TimeSpan.FromMinutes(1), CounterScope.Session);
        int total = (InMemoryCounterStore.SweepChunk * 2) + 100;
        for (int i = 0; i < total; i++)
        {
            Reserve(store, counter, $"session-{i}", 1).IsAcquired.Should().BeTrue();
        }

        time.Advance(TimeSpan.FromMinutes(1));                    // the units leave; this tick looks at one step's worth
        store.WindowCount.Should().Be(total - InMemoryCounterStore.SweepChunk);

        time.Advance(InMemoryCounterStore.SweepChunkPause);       // the next step comes soon, not an interval later
        store.WindowCount.Should().Be(total - (2 * InMemoryCounterStore.SweepChunk));
        time.Advance(InMemoryCounterStore.SweepChunkPause);
        store.WindowCount.Should().Be(0);
    }

    [Test]
    public void TryReserve_PastMaxLiveCounters_RefusesANewScope_KeepsTheLiveOnes_UntilSomeGoQuiet()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time, IdleSweepInterval = Timeout.InfiniteTimeSpan, MaxLiveCounters = 3 });
        var counter = new CounterDefinition("calls", 2, TimeSpan.FromMinutes(1), CounterScope.Session);
        Reserve(store, counter, "a", 1).IsAcquired.Should().BeTrue();
        Reserve(store, counter, "b", 1).IsAcquired.Should().BeTrue();
        Reserve(store, counter, "c", 1).IsAcquired.Should().BeTrue();

        var newScope = () => Reserve(store, counter, "d", 1);
        newScope.Should().Throw<CounterStoreFullException>().WithMessage("*3 live counters, its MaxLiveCounters*");
        var many = () => store.TryReserveAsync(new[] { new CounterRequest(counter, "a", 1), new CounterRequest(counter, "e", 1) }, new CounterBudget[2]).Completed();
        many.Should().Throw<CounterStoreFullException>();
        Reserve(store, counter, "a", 1).IsAcquired.Should().BeTrue("live counters keep working, nothing was taken by the refused call");
        Reserve(store, counter, "a", 1).IsAcquired.Should().BeFalse("and none was evicted: a still holds its two units");
        store.WindowCount.Should().Be(3);

        time.Advance(TimeSpan.FromMinutes(1));
        store.SweepIdleCounters();
        Reserve(store, counter, "d", 1).IsAcquired.Should().BeTrue();
    }

    [Test]
    public void Options_MaxLiveCountersNotPositive_IsRejected()
    {
        var create = () => new InMemoryCounterStore(new InMemoryCounterStoreOptions { MaxLiveCounters = 0 });
        create.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*MaxLiveCounters*");
    }

    [Test]
    public void TryReserve_TheSameCounterAndKeyTwice_IsAnError()
    {
        using var store = new InMemoryCounterStore();
        var counter = new CounterDefinition("calls", 5, TimeSpan.FromMinutes(1), CounterScope.Session);
        var twin = new CounterDefinition("calls", 5, TimeSpan.FromMinutes(1), CounterScope.Session);

        Action act = () => store.TryReserveAsync(new[] { new CounterRequest(counter, "s", 1), new CounterRequest(twin, "s", 1) }, new CounterBudget[2]).Completed();

        act.Should().Throw<ArgumentException>().WithMessage("*'calls'*appears twice*");
    }

    [Test]
    public void TryReserve_ADefaultRequest_IsAnError()
    {
        using var store = new InMemoryCounterStore();

        Action act = () => store.TryReserveAsync(new CounterRequest[1], new CounterBudget[1]).Completed();

        act.Should().Throw<ArgumentException>();
    }

    [Test]
    public void TryReserve_BudgetsShorterThanRequests_IsAnError()
    {
        using var store = new InMemoryCounterStore();
        var counter = new CounterDefinition("calls", 5, TimeSpan.FromMinutes(1), CounterScope.Session);

        Action act = () => store.TryReserveAsync(new[] { new CounterRequest(counter, "s", 1) }, Memory<CounterBudget>.Empty).Completed();

        act.Should().Throw<ArgumentException>().WithParameterName("budgets");
    }

    [Test]
    public void TryReserve_ManyCountersAtOnce_TakesAllOrNothing()
    {
        var time = new FakeTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time });
        CounterDefinition[] counters = Enumerable.Range(0, 12)
            .Select(i => new CounterDefinition($"c{i}", 3, TimeSpan.FromMinutes(1), CounterScope.Session))
            .ToArray();
        Reserve(store, counters[11], "s", 3);
        CounterRequest[] requests = counters.Select(c => new CounterRequest(c, "s", 1)).ToArray();
        var budgets = new CounterBudget[12];

        CounterReservationResult refused = store.TryReserveAsync(requests, budgets).Completed();
        refused.BlockedIndex.Should().Be(11);
        budgets.Take(11).Should().OnlyContain(b => b.Remaining == 3 && b.Reserved == 0);

        time.Advance(TimeSpan.FromMinutes(1));
        store.TryReserveAsync(requests, budgets).Completed().IsAcquired.Should().BeTrue();
        budgets.Should().OnlyContain(b => b.Remaining == 2 && b.Reserved == 1);
    }

    [Test]
    public void SweepTimer_IsMadeWithTheFirstCounter_NotWithTheStore_AndOnlyOnce()
    {
        var time = new TimerCountingTimeProvider(Start);
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time, IdleSweepInterval = TimeSpan.FromSeconds(30) });
        time.TimersMade.Should().Be(0, "a store that never counts (a policy without limits) needs no sweep");

        var calls = new CounterDefinition("calls", 5, TimeSpan.FromMinutes(1), CounterScope.Session);
        var writes = new CounterDefinition("writes", 5, TimeSpan.FromMinutes(1), CounterScope.Session);
        Reserve(store, calls, "a", 1).IsAcquired.Should().BeTrue();
        Reserve(store, calls, "b", 1).IsAcquired.Should().BeTrue();
        Reserve(store, writes, "a", 1).IsAcquired.Should().BeTrue();

        time.TimersMade.Should().Be(1);
        time.Advance(TimeSpan.FromSeconds(90));                   // the units leave, and the timer made with the first counter sweeps
        store.WindowCount.Should().Be(0);
    }

    [Test]
    public void SweepTimer_IsNeverMade_AfterTheStoreIsDisposed()
    {
        var time = new TimerCountingTimeProvider(Start);
        var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time });
        store.Dispose();

        store.Invoking(s => s.TryReserveAsync(new[] { new CounterRequest(new CounterDefinition("calls", 1, TimeSpan.FromMinutes(1), CounterScope.Session), "k", 1) }, new CounterBudget[1]))
            .Should().Throw<ObjectDisposedException>();
        time.TimersMade.Should().Be(0);
    }

    private sealed class TimerCountingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
    {
        public int TimersMade { get; private set; }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            TimersMade++;
            return base.CreateTimer(callback, state, dueTime, period);
        }
    }

    private static CounterReservationResult Reserve(InMemoryCounterStore store, CounterDefinition counter, string key, long amount) =>
        store.TryReserveAsync(new[] { new CounterRequest(counter, key, amount) }, new CounterBudget[1]).Completed();

    /// <summary>A clock with a chosen frequency whose time the test sets.</summary>
    private sealed class ManualClock(long frequency) : TimeProvider
    {
        public long Now { get; set; }

        public override long TimestampFrequency => frequency;

        public override long GetTimestamp() => Now;
    }
}

internal static class ValueTaskExtensions
{
    /// <summary>The result of a call the in-memory store must complete synchronously (its hot path never waits).</summary>
    public static T Completed<T>(this ValueTask<T> task)
    {
        task.IsCompleted.Should().BeTrue("the in-memory store completes synchronously");
        return task.Result;
    }
}
