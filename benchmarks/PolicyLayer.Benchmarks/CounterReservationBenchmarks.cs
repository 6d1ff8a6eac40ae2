using System.Threading.RateLimiting;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// One reservation of one unit in an existing counter among 1,000 active keys, 30 per minute per key:
/// the in-memory store against System.Threading.RateLimiting's PartitionedRateLimiter over SlidingWindowRateLimiter.
/// </summary>
/// <remarks>
/// Admitted: the store's clock moves 2 ms per call, so each key is called every 2 s, exactly 30 per
/// minute, and every call is admitted while the oldest unit leaves (the ring turns over). The
/// SlidingWindowRateLimiter cannot run on a moved clock, so its admitted row uses a limit it never
/// reaches (its admit path does not depend on the limit). Refused: every key is full.
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class CounterReservationBenchmarks
{
    private const int Keys = 1_000;
    private const int PerMinute = 30;

    private readonly CounterBudget[] _budget = new CounterBudget[1];
    private readonly CounterBudget[] _budgets3 = new CounterBudget[3];
    private string[] _keys = null!;
    private CounterClock _clock = null!;
    private CounterClock _frozenClock = null!;
    private InMemoryCounterStore _store = null!;
    private InMemoryCounterStore _fullStore = null!;
    private CounterRequest[][] _requests = null!;
    private CounterRequest[][] _fullRequests = null!;
    private CounterRequest[][] _threeCounterRequests = null!;
    private PartitionedRateLimiter<string> _openLimiter = null!;
    private PartitionedRateLimiter<string> _fullLimiter = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _keys = Enumerable.Range(0, Keys).Select(i => $"grant-{i:D4}").ToArray();
        var perGrant = new CounterDefinition("add_execution_labels_rate", PerMinute, TimeSpan.FromMinutes(1), CounterScope.Grant);
        var perSession = new CounterDefinition("all_calls", 120, TimeSpan.FromMinutes(1), CounterScope.Session);
        var global = new CounterDefinition("everyone", 1_000_000, TimeSpan.FromMinutes(1), CounterScope.Global);

        _clock = new CounterClock();
        _store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = _clock });
        _requests = _keys.Select(k => new[] { new CounterRequest(perGrant, k, 1) }).ToArray();
        _threeCounterRequests = _keys.Select(k => new[]
        {
            new CounterRequest(perGrant, "three-" + k, 1),
            new CounterRequest(perSession, k, 1),
            new CounterRequest(global, string.Empty, 1),
        }).ToArray();

        // Warm every window to its steady state (30 live units, ring at capacity) before measuring.
        for (int i = 0; i < Keys * PerMinute * 2; i++)
        {
            Admitted();
        }

        for (int i = 0; i < Keys * PerMinute * 2; i++)
        {
            AdmittedThreeCounters();
        }

        _frozenClock = new CounterClock();
        _fullStore = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = _frozenClock });
        _fullRequests = _keys.Select(k => new[] { new CounterRequest(perGrant, k, 1) }).ToArray();
        foreach (CounterRequest[] request in _fullRequests)
        {
            for (int i = 0; i < PerMinute; i++)
            {
                _fullStore.TryReserveAsync(request, _budget).Sync();
            }
        }

        _openLimiter = CreateLimiter(int.MaxValue);
        _fullLimiter = CreateLimiter(PerMinute);
        foreach (string key in _keys)
        {
            for (int i = 0; i < PerMinute; i++)
            {
                _fullLimiter.AttemptAcquire(key).Dispose();
            }

            _openLimiter.AttemptAcquire(key).Dispose();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        _fullStore.Dispose();
        _openLimiter.Dispose();
        _fullLimiter.Dispose();
    }

    [Benchmark(Baseline = true, Description = "SlidingWindowRateLimiter")]
    [BenchmarkCategory("Admitted")]
    public bool SlidingWindowAdmitted()
    {
        using RateLimitLease lease = _openLimiter.AttemptAcquire(_keys[NextKey()]);
        return lease.IsAcquired;
    }

    [Benchmark(Description = "InMemoryCounterStore")]
    [BenchmarkCategory("Admitted")]
    public bool Admitted()
    {
        _clock.Now += TimeSpan.TicksPerMinute / PerMinute / Keys;
        return _store.TryReserveAsync(_requests[NextKey()], _budget).Sync().IsAcquired;
    }

    [Benchmark(Description = "InMemoryCounterStore, 3 counters")]
    [BenchmarkCategory("Admitted")]
    public bool AdmittedThreeCounters()
    {
        _clock.Now += TimeSpan.TicksPerMinute / PerMinute / Keys;
        return _store.TryReserveAsync(_threeCounterRequests[NextKey()], _budgets3).Sync().IsAcquired;
    }

    [Benchmark(Baseline = true, Description = "SlidingWindowRateLimiter")]
    [BenchmarkCategory("Refused")]
    public bool SlidingWindowRefused()
    {
        using RateLimitLease lease = _fullLimiter.AttemptAcquire(_keys[NextKey()]);
        return lease.IsAcquired;
    }

    [Benchmark(Description = "InMemoryCounterStore")]
    [BenchmarkCategory("Refused")]
    public bool Refused() =>
        _fullStore.TryReserveAsync(_fullRequests[NextKey()], _budget).Sync().IsAcquired;

    private int NextKey()
    {
        int next = _next + 1;
        _next = next == Keys ? 0 : next;
        return _next;
    }

    private static PartitionedRateLimiter<string> CreateLimiter(int permits) =>
        PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetSlidingWindowLimiter(key, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = TimeSpan.FromMinutes(1),
            SegmentsPerWindow = 6,
            QueueLimit = 0,
        }));
}
