using System.Text.Json;
using BenchmarkDotNet.Attributes;
using PolicyLayer.Policies;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// A tool name no rule names, looked up among 10 and 100,000 rules (half exact names, half globs): the ordered scan of
/// every glob (what lookups did before the glob index) beside the index. The matcher keeps no cache, so every call is a
/// never-seen name.
/// </summary>
[MemoryDiagnoser]
public class GlobLookupBenchmarks
{
    private NameMatcher<int> _matcher = null!;
    private string _name = null!;

    [Params(10, 100_000)]
    public int Rules { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _matcher = new NameMatcher<int>(Enumerable.Range(0, Rules).Select(i =>
            new KeyValuePair<string, int>(i % 2 == 0 ? $"tool_{i:D5}" : $"family_{i:D5}_*", i)));
        _name = "family_nothing_matches_this";
    }

    [Benchmark(Baseline = true, Description = "ordered scan of every glob (before)")]
    public bool Scan()
    {
        foreach (var _ in _matcher.MatchAll(_name))
        {
            return true;
        }

        return false;
    }

    [Benchmark(Description = "glob index")]
    public bool Index() => _matcher.TryMatch(_name, out _, out _);
}

/// <summary>
/// Loading a policy beside JsonDocument.Parse of the same bytes: the issue's shape (a condition and a limit per tool) at
/// 1,000 and 10,000 tools, and a compact shape (every tenth tool with a condition and a limit) from 1,000 to 100,000,
/// the most that fits under the 4 MiB document limit.
/// </summary>
[MemoryDiagnoser]
public class PolicyLoadScalingBenchmarks
{
    private byte[] _bytes = null!;

    [ParamsSource(nameof(Cases))]
    public string Policy { get; set; } = "";

    public static IEnumerable<string> Cases => PolicyFixtures.LoadCases;

    [GlobalSetup]
    public void Setup() => _bytes = PolicyFixtures.ForLoad(Policy);

    [Benchmark(Baseline = true, Description = "JsonDocument.Parse")]
    public int ParseJson()
    {
        using var document = JsonDocument.Parse(_bytes);
        return document.RootElement.GetPropertyCount();
    }

    [Benchmark(Description = "PolicyDocument.Parse")]
    public PolicyDocument Load() => PolicyDocument.Parse(_bytes);
}

/// <summary>
/// What a loaded policy keeps (the compiled result: the heap it holds after full collections) against what loading it
/// allocates. Run with <c>-- policy-load-memory [ROUNDS]</c>; each figure is the median of the rounds.
/// </summary>
internal static class PolicyLoadMemory
{
    public static void Run(int rounds)
    {
        Console.WriteLine($"{"policy",-14} {"bytes",10} {"retained",12} {"allocated",12} {"ratio",6}   (median of {rounds})");
        foreach (var name in PolicyFixtures.LoadCases)
        {
            var bytes = PolicyFixtures.ForLoad(name);
            _ = PolicyDocument.Parse(bytes); // warm up
            var retained = new long[rounds];
            var allocated = new long[rounds];
            for (var round = 0; round < rounds; round++)
            {
                (allocated[round], retained[round]) = MeasureOnce(bytes);
            }

            Array.Sort(retained);
            Array.Sort(allocated);
            var r = retained[rounds / 2];
            var a = allocated[rounds / 2];
            Console.WriteLine($"{name,-14} {bytes.Length,10:N0} {r,12:N0} {a,12:N0} {a / (double)r,6:F2}");
        }
    }

    // A method of its own, so that no stack slot keeps the previous round's policy alive into the next "before".
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (long Allocated, long Retained) MeasureOnce(byte[] bytes)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var policy = PolicyDocument.Parse(bytes);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        var retained = GC.GetTotalMemory(forceFullCollection: true) - before;
        GC.KeepAlive(policy);
        return (allocated, retained);
    }
}

/// <summary>
/// Loading against <c>JsonDocument.Parse</c> of the same bytes in the process's CPU time (all threads, the garbage
/// collector's included): on a machine whose cores other processes share, wall time counts the waits for a core, CPU
/// time does not. Each round times a batch of at least 0.2 s of CPU per method, Parse and load alternated; the figures
/// are medians of the rounds. Run with <c>-- policy-load-cpu [ROUNDS]</c>.
/// </summary>
internal static class PolicyLoadCpu
{
    public static void Run(int rounds) => Run(rounds, PolicyFixtures.LoadCases);

    /// <param name="rounds">Rounds per policy.</param>
    /// <param name="cases">The policies, by <see cref="PolicyFixtures.ForLoad"/>'s names.</param>
    public static void Run(int rounds, IEnumerable<string> cases)
    {
        Console.WriteLine($"{"policy",-14} {"Parse µs",10} {"load µs",10} {"ratio",6} {"ns/tool",8}   (CPU time, median of {rounds} rounds)");
        foreach (var name in cases)
        {
            var bytes = PolicyFixtures.ForLoad(name);
            var tools = int.Parse(name.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            Func<object> parse = () =>
            {
                using var document = JsonDocument.Parse(bytes);
                return document.RootElement.GetPropertyCount();
            };
            Func<object> load = () => PolicyDocument.Parse(bytes);

            // Warm up until the JIT has done its tiers, and learn how many operations make a batch.
            var parseBatch = BatchSize(parse);
            var loadBatch = BatchSize(load);
            var parses = new double[rounds];
            var loads = new double[rounds];
            var ratios = new double[rounds];
            for (var round = 0; round < rounds; round++)
            {
                parses[round] = MicrosecondsEach(parse, parseBatch);
                loads[round] = MicrosecondsEach(load, loadBatch);
                ratios[round] = loads[round] / parses[round];
            }

            var p = Median(parses);
            var l = Median(loads);
            Console.WriteLine($"{name,-14} {p,10:N0} {l,10:N0} {Median(ratios),6:F2} {l * 1000 / tools,8:N0}");
        }
    }

    private static int BatchSize(Func<object> operation)
    {
        var batch = 1;
        var warm = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var each = MicrosecondsEach(operation, batch);
            if (warm.Elapsed > TimeSpan.FromSeconds(3) && each * batch >= 200_000)
            {
                return batch;
            }

            batch = Math.Max(batch, (int)Math.Ceiling(200_000 / Math.Max(each, 1)));
        }
    }

    private static double MicrosecondsEach(Func<object> operation, int batch)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = CpuTime();
        for (var i = 0; i < batch; i++)
        {
            var result = operation();
            (result as IDisposable)?.Dispose();
        }

        return (CpuTime() - before).TotalMicroseconds / batch;
    }

    private static TimeSpan CpuTime()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}

/// <summary>
/// Where loading allocates, by type: the runtime's allocation ticks (one sample about every 100 KB) over repeated loads
/// of one policy. Run with <c>-- policy-load-profile ["mixed 100000"] [LOADS]</c>.
/// </summary>
internal sealed class PolicyLoadProfile : System.Diagnostics.Tracing.EventListener
{
    private readonly Dictionary<string, long> _bytesByType = [];
    private bool _on;

    public static void Run(string name, int loads)
    {
        var bytes = PolicyFixtures.ForLoad(name);
        _ = PolicyDocument.Parse(bytes); // warm up
        using var listener = new PolicyLoadProfile();
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        listener._on = true;
        for (var i = 0; i < loads; i++)
        {
            _ = PolicyDocument.Parse(bytes);
        }

        listener._on = false;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        lock (listener._bytesByType)
        {
            var sampled = listener._bytesByType.Values.Sum();
            Console.WriteLine($"{name}: {allocated / loads:N0} B allocated per load; sampled by type ({sampled / loads:N0} B per load):");
            foreach (var (type, sum) in listener._bytesByType.OrderByDescending(t => t.Value).Take(30))
            {
                Console.WriteLine($"{sum / (double)sampled,6:P1} {sum / loads,12:N0} B/load  {type}");
            }
        }
    }

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1); // GC keyword: AllocationTick
        }
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (!_on || e.EventName is not { } eventName || !eventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null)
        {
            return;
        }

        var type = e.PayloadNames!.IndexOf("TypeName") is var t and >= 0 ? e.Payload[t] as string ?? "?" : "?";
        var amount = e.PayloadNames!.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(e.Payload[a], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        lock (_bytesByType)
        {
            _bytesByType[type] = _bytesByType.GetValueOrDefault(type) + amount;
        }
    }
}

/// <summary>
/// What one load costs the collector: per load of each policy, the collections of each generation (a gen2 counts in
/// gen0 and gen1 too) and the bytes allocated on the large-object heap, with the types of the large objects (the
/// runtime's allocation ticks for that heap: one about every 100 KB, so every large object of 100 KB or more is named).
/// Run with <c>-- policy-load-gc [LOADS]</c> (default 20) after a warm-up of the same number of loads.
/// </summary>
internal sealed class PolicyLoadGc : System.Diagnostics.Tracing.EventListener
{
    private readonly Dictionary<string, (long Bytes, int Count)> _largeByType = [];
    private bool _on;

    // Full collections by what started them (the runtime's GCStart reason: 0 small allocations, 4 a large one, ...).
    private readonly Dictionary<string, int> _fullByReason = [];

    public static void Run(int loads)
    {
        using var listener = new PolicyLoadGc();
        Console.WriteLine($"GC: {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, {System.Runtime.GCSettings.LatencyMode}; {loads} loads each after {loads} to warm up");
        Console.WriteLine($"{"policy",-14} {"gen0/load",10} {"gen1/load",10} {"gen2/load",10} {"LOH B/load",12} {"alloc B/load",13}");
        foreach (var name in new[] { "mixed 1000", "mixed 10000", "mixed 100000", "large 1000", "large 10000" })
        {
            var bytes = PolicyFixtures.ForLoad(name);
            for (var i = 0; i < loads; i++)
            {
                _ = PolicyDocument.Parse(bytes);
            }

            lock (listener._largeByType)
            {
                listener._largeByType.Clear();
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            var gen0 = GC.CollectionCount(0);
            var gen1 = GC.CollectionCount(1);
            var gen2 = GC.CollectionCount(2);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            listener._on = true;
            for (var i = 0; i < loads; i++)
            {
                _ = PolicyDocument.Parse(bytes);
            }

            listener._on = false;
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            double PerLoad(long count) => count / (double)loads;
            lock (listener._largeByType)
            {
                var large = listener._largeByType.Values.Sum(v => v.Bytes);
                Console.WriteLine($"{name,-14} {PerLoad(GC.CollectionCount(0) - gen0),10:F2} {PerLoad(GC.CollectionCount(1) - gen1),10:F2} {PerLoad(GC.CollectionCount(2) - gen2),10:F2} {large / loads,12:N0} {allocated / loads,13:N0}");
                foreach (var (type, (sum, count)) in listener._largeByType.OrderByDescending(t => t.Value.Bytes))
                {
                    Console.WriteLine($"    {sum / loads,12:N0} B/load in {PerLoad(count),5:F1} ticks/load  {type}");
                }

                foreach (var (reason, count) in listener._fullByReason)
                {
                    Console.WriteLine($"    gen2 started by {reason}: {PerLoad(count):F2}/load");
                }

                listener._fullByReason.Clear();
            }
        }
    }

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1); // GC keyword: AllocationTick
        }
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (!_on || e.EventName is not { } eventName || e.Payload is null)
        {
            return;
        }

        if (eventName.StartsWith("GCStart", StringComparison.Ordinal))
        {
            var depth = e.PayloadNames!.IndexOf("Depth") is var d and >= 0 ? Convert.ToInt32(e.Payload[d], System.Globalization.CultureInfo.InvariantCulture) : -1;
            var reason = e.PayloadNames!.IndexOf("Reason") is var r and >= 0 ? Convert.ToInt32(e.Payload[r], System.Globalization.CultureInfo.InvariantCulture) : -1;
            if (depth == 2)
            {
                var name = reason switch { 0 => "small allocations (the gen2 budget, filled by promotion)", 4 => "a large-object allocation", 1 => "GC.Collect", _ => $"reason {reason}" };
                lock (_largeByType)
                {
                    _fullByReason[name] = _fullByReason.GetValueOrDefault(name) + 1;
                }
            }

            return;
        }

        if (!eventName.StartsWith("GCAllocationTick", StringComparison.Ordinal))
        {
            return;
        }

        // AllocationKind: 0 small, 1 large, 2 pinned.
        var kind = e.PayloadNames!.IndexOf("AllocationKind") is var k and >= 0 ? Convert.ToInt32(e.Payload[k], System.Globalization.CultureInfo.InvariantCulture) : 0;
        if (kind != 1)
        {
            return;
        }

        var type = e.PayloadNames!.IndexOf("TypeName") is var t and >= 0 ? e.Payload[t] as string ?? "?" : "?";
        var size = e.PayloadNames!.IndexOf("ObjectSize") is var s and >= 0 ? Convert.ToInt64(e.Payload[s], System.Globalization.CultureInfo.InvariantCulture) : 0;
        var amount = e.PayloadNames!.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(e.Payload[a], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        lock (_largeByType)
        {
            var key = $"{type} ({size:N0} B last)";
            var held = _largeByType.GetValueOrDefault(key);
            _largeByType[key] = (held.Bytes + amount, held.Count + 1);
        }
    }
}

/// <summary>
/// The content revision of a loaded policy (<c>ContentRevision.Of</c>: the source without its whitespace, hashed with
/// SHA-256) beside <c>JsonDocument.Parse</c> of the same bytes, on the load benchmarks' policies.
/// </summary>
[MemoryDiagnoser]
public class PolicyRevisionBenchmarks
{
    private byte[] _bytes = null!;
    private JsonDocument _document = null!;

    [ParamsSource(nameof(Cases))]
    public string Policy { get; set; } = "";

    public static IEnumerable<string> Cases => PolicyFixtures.LoadCases;

    [GlobalSetup]
    public void Setup()
    {
        _bytes = PolicyFixtures.ForLoad(Policy);
        _document = JsonDocument.Parse(_bytes);
    }

    [GlobalCleanup]
    public void Cleanup() => _document.Dispose();

    [Benchmark(Baseline = true, Description = "JsonDocument.Parse")]
    public int ParseJson()
    {
        using var document = JsonDocument.Parse(_bytes);
        return document.RootElement.GetPropertyCount();
    }

    [Benchmark(Description = "ContentRevision.Of")]
    public string Revision() => PolicyLayer.Policies.ContentRevision.Of(_document.RootElement, _bytes);
}

/// <summary>
/// Where a load's CPU time goes, by thread (the loading thread, the background collector, the JIT's tiering) and by
/// kind (user code, or the kernel: on this machine mostly the page faults of memory touched for the first time), with
/// the page faults counted, per load of each policy. Linux only: it reads <c>/proc/self/task/*/stat</c> and
/// <c>/proc/self/stat</c>. Each policy is loaded for a few seconds to warm up, then for <c>SECONDS</c> measured.
/// Run with <c>-- policy-load-threads [SECONDS]</c>.
/// </summary>
internal static class PolicyLoadThreads
{
    public static void Run(double seconds)
    {
        var tick = 1000.0 / 100; // ms per clock tick (USER_HZ is 100 on Linux)
        Console.WriteLine($"{"policy",-14} {"loads",6} {"ns/tool",8} {"user ns/tool",13} {"system ns/tool",15} {"faults/load",12}  other threads (ms/load)");
        foreach (var name in PolicyFixtures.LoadCases)
        {
            var bytes = PolicyFixtures.ForLoad(name);
            var tools = int.Parse(name.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            Loop(bytes, 3);
            GC.Collect();
            var before = Threads();
            var faultsBefore = MinorFaults();
            var loads = Loop(bytes, seconds);
            var faults = (MinorFaults() - faultsBefore) / (double)loads;
            var after = Threads();
            // The loading thread is the process's first, whose id is the process's.
            var main = Environment.ProcessId;
            (double User, double System) own = default;
            var others = new List<string>();
            foreach (var (id, (thread, user, system)) in after)
            {
                var (_, userBefore, systemBefore) = before.TryGetValue(id, out var b) ? b : (thread, 0L, 0L);
                var u = (user - userBefore) * tick / loads;
                var s = (system - systemBefore) * tick / loads;
                if (id == main)
                {
                    own = (u, s);
                }
                else if (u + s >= 0.005)
                {
                    others.Add($"{thread} {u + s:F2}");
                }
            }

            Console.WriteLine($"{name,-14} {loads,6} {(own.User + own.System) * 1e6 / tools,8:N0} {own.User * 1e6 / tools,13:N0} {own.System * 1e6 / tools,15:N0} {faults,12:N0}  {string.Join(", ", others)}");
        }
    }

    private static int Loop(byte[] bytes, double seconds)
    {
        var loads = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            PolicyDocument.Parse(bytes);
            loads++;
        }

        return loads;
    }

    // Per thread: its name, user and system clock ticks (fields 14 and 15 of stat).
    private static Dictionary<int, (string Thread, long User, long System)> Threads()
    {
        var threads = new Dictionary<int, (string, long, long)>();
        foreach (var directory in Directory.GetDirectories("/proc/self/task"))
        {
            var (thread, fields) = Stat(directory + "/stat");
            threads[int.Parse(Path.GetFileName(directory), System.Globalization.CultureInfo.InvariantCulture)] = (thread, fields[11], fields[12]);
        }

        return threads;
    }

    private static long MinorFaults() => Stat("/proc/self/stat").Fields[7];

    private static (string Thread, long[] Fields) Stat(string path)
    {
        var stat = File.ReadAllText(path);
        var close = stat.LastIndexOf(')');
        var fields = stat[(close + 2)..].Split(' ').Select(f => long.TryParse(f, out var v) ? v : 0).ToArray();
        return (stat[(stat.IndexOf('(') + 1)..close], fields);
    }
}
