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

/// <summary>Loading a policy of 1,000 to 20,000 tools (the largest of this shape under the 4 MiB limit) beside JsonDocument.Parse of the same bytes.</summary>
[MemoryDiagnoser]
public class PolicyLoadScalingBenchmarks
{
    private byte[] _bytes = null!;

    [Params(1_000, 10_000, 20_000)]
    public int Tools { get; set; }

    [GlobalSetup]
    public void Setup() => _bytes = System.Text.Encoding.UTF8.GetBytes(PolicyFixtures.Large(Tools));

    [Benchmark(Baseline = true, Description = "JsonDocument.Parse")]
    public int ParseJson()
    {
        using var document = JsonDocument.Parse(_bytes);
        return document.RootElement.GetPropertyCount();
    }

    [Benchmark(Description = "PolicyDocument.Parse")]
    public PolicyDocument Load() => PolicyDocument.Parse(_bytes);
}

/// <summary>What a loaded policy keeps (the compiled result) against what loading it allocates. Run with <c>-- policy-load-memory</c>.</summary>
internal static class PolicyLoadMemory
{
    public static void Run()
    {
        Console.WriteLine($"{"tools",8} {"bytes",12} {"retained",12} {"allocated",12} {"ratio",6}");
        foreach (var tools in new[] { 1_000, 10_000, 20_000 })
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(PolicyFixtures.Large(tools));
            _ = PolicyDocument.Parse(bytes); // warm up
            var before = GC.GetTotalMemory(forceFullCollection: true);
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var policy = PolicyDocument.Parse(bytes);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            var retained = GC.GetTotalMemory(forceFullCollection: true) - before;
            GC.KeepAlive(policy);
            Console.WriteLine($"{tools,8:N0} {bytes.Length,12:N0} {retained,12:N0} {allocated,12:N0} {allocated / (double)retained,6:F2}");
        }
    }
}
