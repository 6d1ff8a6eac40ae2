using CsCheck;
using Microsoft.Extensions.Time.Testing;

namespace PolicyLayer.Core.Tests.Counters;

/// <summary>
/// The sliding-window bound and all-or-none consumption, for random arrival times, amounts,
/// releases and combinations of counters.
/// </summary>
public class SlidingWindowPropertyTests
{
    private static readonly string[] ScopeKeys = ["a", "b"];

    // One call: wait, then reserve amounts in a subset of the counters (or give an earlier reservation back).
    private sealed record Step(long DelayTicks, int CounterMask, int[] Amounts, string ScopeKey, int ReleaseIndex);

    private sealed record Scenario((int Max, int WindowMs)[] Counters, Step[] Steps)
    {
        public override string ToString() =>
            $"counters [{string.Join(", ", Counters.Select(c => $"{c.Max}/{c.WindowMs}ms"))}], steps [" +
            string.Join(" ", Steps.Select(s => $"+{s.DelayTicks}t {s.ScopeKey}:{s.CounterMask}:{string.Join(',', s.Amounts)}{(s.ReleaseIndex >= 0 ? $" rel{s.ReleaseIndex}" : "")}")) + "]";
    }

    private static readonly Gen<Scenario> Scenarios =
        Gen.Select(
            Gen.Select(Gen.Int[1, 6], Gen.Int[1, 40]).Select((max, window) => (max, window * 100)).Array[1, 3],
            Gen.Select(
                // Whole milliseconds, sometimes a tick short or long, so units arrive exactly at, just before and just after window edges.
                Gen.Select(
                    Gen.Frequency((6, Gen.Int[0, 60]), (3, Gen.Int[0, 1500]), (1, Gen.Int[0, 6000])),
                    Gen.Frequency((6, Gen.Const(0L)), (1, Gen.Const(1L)), (1, Gen.Const(-1L))))
                    .Select((ms, jitter) => Math.Max(0, (ms * TimeSpan.TicksPerMillisecond) + jitter)),
                Gen.Int[1, 7],
                Gen.Frequency((8, Gen.Int[1, 3]), (1, Gen.Const(0)), (1, Gen.Int[4, 8])).Array[3],
                Gen.Int[0, 1],
                Gen.Frequency((9, Gen.Const(-1)), (1, Gen.Int[0, 200])))
                .Select((delay, mask, amounts, key, release) => new Step(delay, mask, amounts, ScopeKeys[key], release))
                .Array[1, 120])
        .Select((counters, steps) => new Scenario(counters, steps));

    // Spend caps: Max above the log's 1,024 entries, so times sit on a grid of 1/1,022 of the window.
    private static readonly Gen<Scenario> SpendScenarios =
        Gen.Select(
            Gen.Select(Gen.Int[1_025, 3_000], Gen.Int[1, 40]).Select((max, window) => (max, window * 100)).Array[1, 2],
            Gen.Select(
                Gen.Frequency((6, Gen.Int[0, 30]), (3, Gen.Int[0, 800])).Select(ms => (long)ms * TimeSpan.TicksPerMillisecond),
                Gen.Int[1, 3],
                Gen.Frequency((8, Gen.Int[1, 400]), (1, Gen.Int[0, 3_000])).Array[3],
                Gen.Int[0, 1],
                Gen.Frequency((9, Gen.Const(-1)), (1, Gen.Int[0, 200])))
                .Select((delay, mask, amounts, key, release) => new Step(delay, mask, amounts, ScopeKeys[key], release))
                .Array[1, 300])
        .Select((counters, steps) => new Scenario(counters, steps));

    [Test]
    public void TryReserve_AnyArrivals_NeverAdmitMoreThanMaxInAnyWindow_AndTakeAllOrNothing()
    {
        Scenarios.Sample(scenario => RunScenario(scenario, exact: true), iter: 400);
    }

    [Test]
    public void TryReserve_SpendCapsWithManyReservations_NeverAdmitMoreThanMaxInAnyWindow()
    {
        SpendScenarios.Sample(scenario => RunScenario(scenario, exact: false), iter: 150);
    }

    private static void RunScenario(Scenario scenario, bool exact)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time, IdleSweepInterval = TimeSpan.FromSeconds(1) });
        CounterDefinition[] counters = scenario.Counters
            .Select((c, i) => new CounterDefinition($"c{i}", c.Max, TimeSpan.FromMilliseconds(c.WindowMs), CounterScope.Session))
            .ToArray();

        // What the store admitted and still holds, per counter and key: (time, amount, reservation).
        var admitted = new Dictionary<(int Counter, string Key), List<Admission>>();
        var reservations = new List<(CounterBudget[] Budgets, int Seq)>();
        int nextSeq = 0;
        var model = new ExactModel();

        foreach (Step step in scenario.Steps)
        {
            time.Advance(TimeSpan.FromTicks(step.DelayTicks));
            long now = time.GetUtcNow().Ticks;

            if (step.ReleaseIndex >= 0 && reservations.Count > 0)
            {
                (CounterBudget[] held, int seq) = reservations[step.ReleaseIndex % reservations.Count];
                reservations.RemoveAt(step.ReleaseIndex % reservations.Count);
                store.ReleaseAsync(held).AsTask().GetAwaiter().GetResult();
                foreach (CounterBudget budget in held)
                {
                    int counter = Array.IndexOf(counters, budget.Counter);
                    model.Release(counter, budget.ScopeKey, seq);
                    admitted[(counter, budget.ScopeKey)].RemoveAll(a => a.Seq == seq && a.Time + counters[counter].Window.Ticks > now);
                }

                continue;
            }

            int[] chosen = Enumerable.Range(0, counters.Length).Where(i => (step.CounterMask & (1 << i)) != 0).ToArray();
            if (chosen.Length == 0)
            {
                chosen = [0];
            }

            CounterRequest[] requests = chosen.Select(i => new CounterRequest(counters[i], step.ScopeKey, step.Amounts[i])).ToArray();
            var budgets = new CounterBudget[requests.Length];
            CounterReservationResult result = store.TryReserveAsync(requests, budgets).AsTask().GetAwaiter().GetResult();

            bool modelAdmits = model.Fits(chosen, counters, step.ScopeKey, step.Amounts, now, out TimeSpan modelRetry);
            if (exact)
            {
                // Windows up to 107 s on a 100 ns clock have a one-tick quantum: the store is the exact model.
                result.IsAcquired.Should().Be(modelAdmits, "the store is exact: it admits exactly when the live units plus the amount fit (at {0} ms)", now / TimeSpan.TicksPerMillisecond);
            }
            else if (result.IsAcquired)
            {
                modelAdmits.Should().BeTrue("rounding times up may refuse what the exact model admits, never the reverse");
            }

            if (!result.IsAcquired)
            {
                if (exact)
                {
                    result.RetryAfter.Should().Be(modelRetry);
                }

                budgets.Should().OnlyContain(b => b.Reserved == 0, "a refused reservation takes nothing in any counter");
                continue;
            }

            budgets.Select(b => b.Reserved).Should().Equal(chosen.Select(i => (long)step.Amounts[i]), "an acquired reservation takes its amount in every counter");
            int reservation = nextSeq++;
            reservations.Add((budgets, reservation));
            for (int k = 0; k < chosen.Length; k++)
            {
                int counter = chosen[k];
                model.Add(counter, step.ScopeKey, now, step.Amounts[counter], reservation);
                if (!admitted.TryGetValue((counter, step.ScopeKey), out List<Admission>? log))
                {
                    admitted[(counter, step.ScopeKey)] = log = [];
                }

                log.Add(new Admission(now, step.Amounts[counter], reservation));
            }
        }

        // The bound, checked on the admitted log alone: every interval [t, t + window) starting at an
        // admission holds at most max units (any other interval holds a subset of one of these).
        foreach (((int counter, string key), List<Admission> log) in admitted)
        {
            long window = counters[counter].Window.Ticks;
            foreach (Admission first in log)
            {
                long inWindow = log.Where(a => a.Time >= first.Time && a.Time < first.Time + window).Sum(a => a.Amount);
                inWindow.Should().BeLessThanOrEqualTo(counters[counter].Max, "counter {0} key {1} window from {2} ms", counter, key, first.Time / TimeSpan.TicksPerMillisecond);
            }
        }
    }

    private sealed record Admission(long Time, long Amount, int Seq);

    /// <summary>An exact sliding log, the obvious way: what the store must agree with.</summary>
    private sealed class ExactModel
    {
        private readonly Dictionary<(int, string), List<Admission>> _live = [];

        public bool Fits(int[] chosen, CounterDefinition[] counters, string key, int[] amounts, long now, out TimeSpan retryAfter)
        {
            bool fits = true;
            retryAfter = TimeSpan.Zero;
            foreach (int counter in chosen)
            {
                long window = counters[counter].Window.Ticks;
                long max = counters[counter].Max;
                List<Admission> live = Live(counter, key);
                live.RemoveAll(a => a.Time + window <= now);
                long used = live.Sum(a => a.Amount);
                long amount = amounts[counter];
                if (used + amount <= max)
                {
                    continue;
                }

                fits = false;
                TimeSpan wait = TimeSpan.MaxValue;
                if (amount <= max)
                {
                    long freed = 0;
                    foreach (Admission a in live.OrderBy(a => a.Time))
                    {
                        freed += a.Amount;
                        if (used - freed + amount <= max)
                        {
                            wait = TimeSpan.FromTicks(a.Time + window - now);
                            break;
                        }
                    }
                }

                retryAfter = wait > retryAfter ? wait : retryAfter;
            }

            return fits;
        }

        public void Add(int counter, string key, long now, long amount, int seq)
        {
            if (amount > 0)
            {
                Live(counter, key).Add(new Admission(now, amount, seq));
            }
        }

        public void Release(int counter, string key, int seq)
        {
            // Units that already left the window were pruned by Fits; giving them back changes nothing.
            List<Admission> live = Live(counter, key);
            int index = live.FindIndex(a => a.Seq == seq);
            if (index >= 0)
            {
                live.RemoveAt(index);
            }
        }

        private List<Admission> Live(int counter, string key)
        {
            if (!_live.TryGetValue((counter, key), out List<Admission>? live))
            {
                _live[(counter, key)] = live = [];
            }

            return live;
        }
    }
}
