namespace PolicyLayer.Benchmarks;

/// <summary>
/// How much the in-memory store under-admits: the same random arrivals through the store and through an
/// exact sliding log (true times, no rounding), on a 1 GHz clock like Stopwatch on Linux. Run with
/// <c>dotnet run -c Release --project benchmarks/PolicyLayer.Benchmarks -- counter-accuracy</c>.
/// </summary>
internal static class CounterAccuracyMeasurement
{
    private const long Frequency = 1_000_000_000;

    public static void Run()
    {
        Console.WriteLine("Under-admission against an exact sliding log, 1 GHz clock, fixed seed; arrivals at 1.5x the limit");
        Console.WriteLine($"{"counter",-34} {"quantum",12} {"calls",10} {"exact admits units",20} {"store admits units",20} {"under-admitted",15}");
        Measure("calls: 30 per minute", 30, TimeSpan.FromMinutes(1), meanGap: TimeSpan.FromSeconds(60.0 / 45), maxAmount: 1, calls: 200_000);
        Measure("calls: 1,000 per hour", 1_000, TimeSpan.FromHours(1), meanGap: TimeSpan.FromSeconds(3600.0 / 1_500), maxAmount: 1, calls: 200_000);
        Measure("calls: 10,000 per day (grid)", 10_000, TimeSpan.FromDays(1), meanGap: TimeSpan.FromSeconds(86400.0 / 15_000), maxAmount: 1, calls: 200_000);
        Measure("spend: 50,000 per day, 1..500", 50_000, TimeSpan.FromDays(1), meanGap: TimeSpan.FromSeconds(86400.0 / 300), maxAmount: 500, calls: 20_000);
        Measure("spend: 50,000 per hour, 1..10", 50_000, TimeSpan.FromHours(1), meanGap: TimeSpan.FromSeconds(3600.0 / 13_636), maxAmount: 10, calls: 200_000);
    }

    private static void Measure(string name, long max, TimeSpan window, TimeSpan meanGap, int maxAmount, int calls)
    {
        var clock = new NanosecondClock();
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = clock, IdleSweepInterval = Timeout.InfiniteTimeSpan });
        var counter = new CounterDefinition(name, max, window, CounterScope.Grant);
        long windowUnits = (long)(window.Ticks * (Frequency / (double)TimeSpan.TicksPerSecond));
        var exact = new Queue<(long Time, long Amount)>();
        long exactUsed = 0, exactAdmitted = 0, storeAdmitted = 0;
        var random = new Random(42);
        var request = new CounterRequest[1];
        var budget = new CounterBudget[1];

        for (int i = 0; i < calls; i++)
        {
            // Exponential gaps: bursts and lulls, at a mean rate above the limit.
            clock.Now += (long)(-Math.Log(1 - random.NextDouble()) * meanGap.Ticks * 100);
            long amount = random.Next(1, maxAmount + 1);

            while (exact.Count > 0 && exact.Peek().Time + windowUnits <= clock.Now)
            {
                exactUsed -= exact.Dequeue().Amount;
            }

            if (exactUsed + amount <= max)
            {
                exact.Enqueue((clock.Now, amount));
                exactUsed += amount;
                exactAdmitted += amount;
            }

            request[0] = new CounterRequest(counter, "g", amount);
            if (store.TryReserveAsync(request, budget).Sync().IsAcquired)
            {
                storeAdmitted += amount;
            }
        }

        long quantum = CounterTable.ChooseQuantum(windowUnits, Frequency, max > CounterTable.MaxEntries ? CounterTable.MaxEntries - 2 : CounterTable.OffsetsPerWindow);
        string quantumText = quantum >= 1_000_000_000 ? $"{quantum / 1e9:F1} s" : quantum >= 1_000_000 ? $"{quantum / 1e6:F1} ms" : quantum >= 1_000 ? $"{quantum / 1e3:F1} µs" : $"{quantum} ns";
        double under = exactAdmitted == 0 ? 0 : (exactAdmitted - storeAdmitted) / (double)exactAdmitted;
        Console.WriteLine($"{name,-34} {quantumText,12} {calls,10:N0} {exactAdmitted,20:N0} {storeAdmitted,20:N0} {under,14:P3}");
    }

    private sealed class NanosecondClock : TimeProvider
    {
        public long Now { get; set; } = 1_000_000_000;

        public override long TimestampFrequency => Frequency;

        public override long GetTimestamp() => Now;
    }
}
