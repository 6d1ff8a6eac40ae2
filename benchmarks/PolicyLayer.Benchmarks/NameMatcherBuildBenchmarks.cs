using BenchmarkDotNet.Attributes;
using PolicyLayer.Policies;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// Building the rules' name matcher (exact names and the glob index) beside building a plain dictionary of the same
/// keys: the matcher's share of a policy load. Half the keys are exact names, half globs, as in the load benchmarks.
/// </summary>
[MemoryDiagnoser]
public class NameMatcherBuildBenchmarks
{
    private KeyValuePair<string, int>[] _entries = null!;

    [Params(1_000, 10_000, 100_000)]
    public int Rules { get; set; }

    [GlobalSetup]
    public void Setup() => _entries = [.. Enumerable.Range(0, Rules).Select(i =>
        new KeyValuePair<string, int>(i % 2 == 0 ? $"tool_{i:D6}" : $"family_{i:D6}_*", i))];

    [Benchmark(Baseline = true, Description = "Dictionary of every key")]
    public int Dictionary()
    {
        var dictionary = new Dictionary<string, int>(_entries.Length, StringComparer.Ordinal);
        foreach (var (key, value) in _entries)
        {
            dictionary[key] = value;
        }

        return dictionary.Count;
    }

    [Benchmark(Description = "NameMatcher")]
    public int Matcher() => new NameMatcher<int>(_entries.AsSpan()).Count;
}
