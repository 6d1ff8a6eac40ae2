using Microsoft.Extensions.Time.Testing;

namespace PolicyLayer.Redis.Tests;

/// <summary>
/// Random sequences of reservations, releases, reads and time moves, checked step by step against a plain model of
/// an exact sliding window, so that every admit, refusal, remaining count and retry time is the exact one.
/// </summary>
public sealed class RedisCounterStoreModelTests
{
    private static readonly CounterDefinition[] Counters =
    [
        new("a", 5, TimeSpan.FromMilliseconds(1000), CounterScope.Session),
        new("b", 12, TimeSpan.FromMilliseconds(2500), CounterScope.Grant),
        new("c", 3, TimeSpan.FromMilliseconds(300), CounterScope.Global),
    ];

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task RandomSequence_MatchesExactSlidingWindowModel(int seed)
    {
        var random = new Random(seed);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        var store = RedisCounterStoreTests.CreateStore(time);
        var model = new Model();
        var held = new List<CounterBudget[]>();

        for (var step = 0; step < 300; step++)
        {
            time.Advance(TimeSpan.FromMicroseconds(random.Next(0, 250_000)));
            var now = time.GetUtcNow();
            var requests = PickRequests(random);
            var budgets = new CounterBudget[requests.Length];
            var action = random.Next(10);
            if (action < 7)
            {
                var result = await store.TryReserveAsync(requests, budgets);
                var expected = model.Reserve(requests, now, out var expectedBudgets);
                result.IsAcquired.Should().Be(expected.IsAcquired, "step {0}", step);
                result.BlockedIndex.Should().Be(expected.BlockedIndex, "step {0}", step);
                result.RetryAfter.Should().Be(expected.RetryAfter, "step {0}", step);
                Compare(budgets, expectedBudgets, step);
                if (result.IsAcquired)
                {
                    model.Bind(expectedBudgets, budgets);
                    held.Add(budgets);
                }
            }
            else if (action < 9 || held.Count == 0)
            {
                await store.GetBudgetsAsync(requests, budgets);
                model.Peek(requests, now, out var expectedBudgets);
                Compare(budgets, expectedBudgets, step);
            }
            else
            {
                var release = held[random.Next(held.Count)];
                held.Remove(release);
                await store.ReleaseAsync(release);
                model.Release(release);
            }
        }

        model.Admitted.Should().BeGreaterThan(50, "the sequence must exercise admits");
        model.Refused.Should().BeGreaterThan(20, "the sequence must exercise refusals");
    }

    private static CounterRequest[] PickRequests(Random random)
    {
        var picked = Counters.Where(_ => random.Next(3) > 0).ToList();
        if (picked.Count == 0)
        {
            picked.Add(Counters[random.Next(Counters.Length)]);
        }

        return picked.OrderBy(_ => random.Next()).Select(c => new CounterRequest(c, "k", random.Next(0, 4))).ToArray();
    }

    private static void Compare(CounterBudget[] actual, (long Reserved, long Remaining, TimeSpan RetryAfter)[] expected, int step)
    {
        for (var i = 0; i < actual.Length; i++)
        {
            (actual[i].Reserved, actual[i].Remaining, actual[i].RetryAfter).Should().Be(expected[i], "step {0}, counter {1}", step, i);
        }
    }

    /// <summary>An exact sliding window as a list of (time, amount) entries per counter, kept apart from the store's code.</summary>
    private sealed class Model
    {
        private readonly Dictionary<string, List<(DateTimeOffset Time, long Amount, long Id)>> _entries = [];
        private long _pendingId;

        public int Admitted { get; private set; }

        public int Refused { get; private set; }

        public CounterReservationResult Reserve(CounterRequest[] requests, DateTimeOffset now, out (long, long, TimeSpan)[] budgets)
        {
            budgets = new (long, long, TimeSpan)[requests.Length];
            var blocked = -1;
            var longest = TimeSpan.Zero;
            for (var i = 0; i < requests.Length; i++)
            {
                var (remaining, retry) = State(requests[i], now);
                budgets[i] = (0, remaining, retry);
                if (retry != TimeSpan.Zero && (blocked < 0 || (longest != TimeSpan.MaxValue && retry > longest)))
                {
                    blocked = i;
                    longest = retry;
                }
            }

            if (blocked >= 0)
            {
                Refused++;
                return CounterReservationResult.Blocked(blocked, longest);
            }

            Admitted++;
            _pendingId = --_pendingId;
            for (var i = 0; i < requests.Length; i++)
            {
                if (requests[i].Amount > 0)
                {
                    Entries(requests[i].Counter).Add((now, requests[i].Amount, _pendingId));
                }

                budgets[i] = (requests[i].Amount, budgets[i].Item2 - requests[i].Amount, TimeSpan.Zero);
            }

            return CounterReservationResult.Acquired;
        }

        public void Peek(CounterRequest[] requests, DateTimeOffset now, out (long, long, TimeSpan)[] budgets)
        {
            budgets = new (long, long, TimeSpan)[requests.Length];
            for (var i = 0; i < requests.Length; i++)
            {
                var (remaining, retry) = State(requests[i], now);
                budgets[i] = (0, remaining, retry);
            }
        }

        // The model numbers its entries itself; this ties them to each counter's reservation id for releases.
        public void Bind((long, long, TimeSpan)[] _, CounterBudget[] budgets)
        {
            foreach (var budget in budgets)
            {
                var list = Entries(budget.Counter);
                for (var i = 0; i < list.Count; i++)
                {
                    if (list[i].Id == _pendingId)
                    {
                        list[i] = (list[i].Time, list[i].Amount, budget.ReservationId);
                    }
                }
            }
        }

        public void Release(CounterBudget[] budgets)
        {
            foreach (var budget in budgets.Where(b => b.Reserved > 0))
            {
                Entries(budget.Counter).RemoveAll(e => e.Id == budget.ReservationId);
            }
        }

        private (long Remaining, TimeSpan RetryAfter) State(CounterRequest request, DateTimeOffset now)
        {
            var window = request.Counter.Window;
            var inWindow = Entries(request.Counter).Where(e => e.Time > now - window).OrderBy(e => e.Time).ToList();
            var used = inWindow.Sum(e => e.Amount);
            var remaining = Math.Max(0, request.Counter.Max - used);
            if (request.Amount == 0 || used + request.Amount <= request.Counter.Max)
            {
                return (remaining, TimeSpan.Zero);
            }

            if (request.Amount > request.Counter.Max)
            {
                return (remaining, TimeSpan.MaxValue);
            }

            var need = used + request.Amount - request.Counter.Max;
            long freed = 0;
            foreach (var entry in inWindow)
            {
                freed += entry.Amount;
                if (freed >= need)
                {
                    return (remaining, entry.Time + window - now);
                }
            }

            throw new InvalidOperationException("unreachable");
        }

        private List<(DateTimeOffset Time, long Amount, long Id)> Entries(CounterDefinition counter)
        {
            if (!_entries.TryGetValue(counter.Name, out var list))
            {
                _entries[counter.Name] = list = [];
            }

            return list;
        }
    }
}
