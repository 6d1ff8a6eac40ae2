using Microsoft.Extensions.Caching.Memory;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// Memory per live counter at 30 per minute over 1,000,000 counters: the in-memory store against the
/// naive design (one MemoryCache entry per counter holding a long[30] log). Run with
/// <c>dotnet run -c Release --project benchmarks/PolicyLayer.Benchmarks -- counter-memory</c>.
/// </summary>
internal static class CounterMemoryMeasurement
{
    private const int Counters = 1_000_000;
    private const int PerMinute = 30;

    public static void Run()
    {
        Console.WriteLine($"Memory per live counter, {Counters:N0} counters each holding {PerMinute} units (max {PerMinute} per minute)");
        Console.WriteLine($".NET {Environment.Version}, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC, {IntPtr.Size * 8}-bit");
        Console.WriteLine();

        long keyBytes = Measure(() => MakeKeys(), out string[] keys);
        Console.WriteLine($"{"key strings alone (\"grant-0000000\")",-44} {keyBytes / (double)Counters,8:F1} B/key");

        Report("InMemoryCounterStore, keys allocated before", Measure(() => FillStore(keys), out InMemoryCounterStore store));
        store.Dispose();
        store = null!;
        Report("InMemoryCounterStore, with its key strings", Measure(() => FillStore(MakeKeys()), out store));
        store.Dispose();
        store = null!;

        Report("MemoryCache + long[30], keys allocated before", Measure(() => FillCache(keys), out MemoryCache cache));
        cache.Dispose();
        cache = null!;
        Report("MemoryCache + long[30], with its key strings", Measure(() => FillCache(MakeKeys()), out cache));
        cache.Dispose();
        GC.KeepAlive(keys);
    }

    private static void Report(string name, long bytes) =>
        Console.WriteLine($"{name,-44} {bytes / (double)Counters,8:F1} B/counter");

    private static long Measure<T>(Func<T> fill, out T result)
    {
        long before = GC.GetTotalMemory(forceFullCollection: true);
        result = fill();
        long after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(result);
        return after - before;
    }

    private static string[] MakeKeys()
    {
        var keys = new string[Counters];
        for (int i = 0; i < Counters; i++)
        {
            keys[i] = $"grant-{i:D7}";
        }

        return keys;
    }

    private static InMemoryCounterStore FillStore(string[] keys)
    {
        var clock = new CounterClock();
        var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = clock, IdleSweepInterval = Timeout.InfiniteTimeSpan });
        var counter = new CounterDefinition("calls", PerMinute, TimeSpan.FromMinutes(1), CounterScope.Grant);
        var request = new CounterRequest[1];
        var budget = new CounterBudget[1];
        for (int u = 0; u < PerMinute; u++)
        {
            clock.Now += TimeSpan.TicksPerSecond;
            foreach (string key in keys)
            {
                request[0] = new CounterRequest(counter, key, 1);
                if (!store.TryReserveAsync(request, budget).Sync().IsAcquired)
                {
                    throw new InvalidOperationException("Every unit should fit.");
                }
            }
        }

        return store;
    }

    private static MemoryCache FillCache(string[] keys)
    {
        var cache = new MemoryCache(new MemoryCacheOptions());
        foreach (string key in keys)
        {
            long[] log = cache.GetOrCreate(key, static entry =>
            {
                entry.SlidingExpiration = TimeSpan.FromMinutes(1);
                return new long[PerMinute];
            })!;
            for (int u = 0; u < PerMinute; u++)
            {
                log[u] = u;
            }
        }

        return cache;
    }
}
