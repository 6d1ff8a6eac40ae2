using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using BenchmarkDotNet.Attributes;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// Classifying a 100-tool list (a tools/list result) taken from the real-tool corpus. The classifier
/// runs once per distinct tool; <see cref="CachedVerdicts_100Tools"/> is what a call pays afterwards.
/// </summary>
[MemoryDiagnoser]
public class ClassifierBenchmarks
{
    private static readonly Regex NaiveVerb = new(
        @"\b(delete|remove|drop|purge|execute|run|trigger|refund|charge|pay|create|update|add|send|get|list|read|search)\b",
        RegexOptions.IgnoreCase);

    private ToolDescriptor[] _tools = [];
    private readonly ConcurrentDictionary<string, RiskProfile> _cache = new(StringComparer.Ordinal);

    [GlobalSetup]
    public void Setup()
    {
        // Every tenth tool of the corpus (one file per server, in name order), so that the list mixes the servers.
        _tools = Directory.GetFiles(FindCorpus(), "*.json").Order(StringComparer.Ordinal)
            .SelectMany(file =>
            {
                using JsonDocument document = JsonDocument.Parse(File.ReadAllText(file));
                return document.RootElement.GetProperty("tools").EnumerateArray().Select(ToDescriptor).ToArray();
            })
            .Where((_, i) => i % 10 == 0)
            .Take(100)
            .ToArray();
        if (_tools.Length != 100)
        {
            throw new InvalidOperationException($"Expected 100 tools, got {_tools.Length}.");
        }

        foreach (ToolDescriptor tool in _tools)
        {
            _cache[tool.Name + "|" + tool.Description?.Length] = ToolRiskClassifier.Default.Classify(tool);
        }
    }

    /// <summary>A regex over name and description, as a first attempt would be: the comparison baseline.</summary>
    [Benchmark(Baseline = true)]
    public int NaiveRegex_100Tools()
    {
        int matches = 0;
        foreach (ToolDescriptor tool in _tools)
        {
            matches += NaiveVerb.IsMatch(tool.Name.Replace('_', ' ')) ? 1 : 0;
            matches += NaiveVerb.IsMatch(tool.Description ?? string.Empty) ? 1 : 0;
        }

        return matches;
    }

    /// <summary>The classifier over the whole list: the once-per-tool cost.</summary>
    [Benchmark]
    public int Classify_100Tools()
    {
        int critical = 0;
        foreach (ToolDescriptor tool in _tools)
        {
            critical += ToolRiskClassifier.Default.Classify(tool).Level == RiskLevel.Critical ? 1 : 0;
        }

        return critical;
    }

    /// <summary>Looking the verdicts up again, as the evaluator does on every call.</summary>
    [Benchmark]
    public int CachedVerdicts_100Tools()
    {
        int critical = 0;
        foreach (ToolDescriptor tool in _tools)
        {
            critical += _cache.TryGetValue(tool.Name + "|" + tool.Description?.Length, out RiskProfile? risk) && risk.Level == RiskLevel.Critical ? 1 : 0;
        }

        return critical;
    }

    private static ToolDescriptor ToDescriptor(JsonElement tool)
    {
        ToolAnnotations? annotations = null;
        if (tool.TryGetProperty("annotations", out JsonElement a) && a.ValueKind == JsonValueKind.Object)
        {
            annotations = new ToolAnnotations
            {
                ReadOnlyHint = Hint(a, "readOnlyHint"),
                DestructiveHint = Hint(a, "destructiveHint"),
                IdempotentHint = Hint(a, "idempotentHint"),
                OpenWorldHint = Hint(a, "openWorldHint"),
            };
        }

        return new ToolDescriptor(
            tool.GetProperty("name").GetString()!,
            tool.TryGetProperty("description", out JsonElement description) ? description.GetString() : null,
            annotations,
            tool.GetProperty("inputSchema").Clone());
    }

    private static bool? Hint(JsonElement annotations, string name) =>
        annotations.TryGetProperty(name, out JsonElement value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : null;

    private static string FindCorpus()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PolicyLayer.Core.sln")))
        {
            dir = dir.Parent;
        }

        return dir is null
            ? throw new InvalidOperationException("PolicyLayer.Core.sln not found above " + AppContext.BaseDirectory)
            : Path.Combine(dir.FullName, "tests", "PolicyLayer.Core.Tests", "Classification", "Corpus");
    }
}
