using System.Collections.Concurrent;

namespace KestraServer;

/// <summary>An in-memory stand-in for a Kestra instance; counts how often each tool body ran.</summary>
public sealed class FlowStore
{
    private readonly ConcurrentDictionary<string, string> _flows = new(StringComparer.Ordinal)
    {
        ["company.team.hello"] = "id: hello\nnamespace: company.team\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: Hello",
    };

    private readonly ConcurrentDictionary<string, int> _runs = new(StringComparer.Ordinal);
    private int _executions;

    /// <summary>How many times the body of <paramref name="tool"/> ran.</summary>
    public int Runs(string tool) => _runs.TryGetValue(tool, out var n) ? n : 0;

    internal FlowStore Record(string tool)
    {
        _runs.AddOrUpdate(tool, 1, static (_, n) => n + 1);
        return this;
    }

    internal IReadOnlyList<string> List(string ns) =>
        _flows.Keys.Where(k => k.StartsWith(ns + ".", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();

    internal string? Get(string ns, string id) => _flows.TryGetValue($"{ns}.{id}", out var source) ? source : null;

    internal string Create(string ns, string id, string source) =>
        _flows.TryAdd($"{ns}.{id}", source) ? $"Created {ns}.{id}." : throw new InvalidOperationException($"Flow {ns}.{id} exists.");

    internal string Delete(string ns, string id) =>
        _flows.TryRemove($"{ns}.{id}", out _) ? $"Deleted {ns}.{id}." : throw new InvalidOperationException($"No flow {ns}.{id}.");

    internal string Execute(string ns, string id) =>
        _flows.ContainsKey($"{ns}.{id}") ? $"Execution {Interlocked.Increment(ref _executions)} of {ns}.{id} started." : throw new InvalidOperationException($"No flow {ns}.{id}.");

    internal string Backfill(string ns, string id, int executions) =>
        _flows.ContainsKey($"{ns}.{id}")
            ? $"Backfill of {ns}.{id} started: {executions} executions."
            : throw new InvalidOperationException($"No flow {ns}.{id}.");

    internal string Label(string executionId, Dictionary<string, string> labels) =>
        $"Labelled execution {executionId} with {string.Join(", ", labels.Select(l => l.Key + "=" + l.Value))}.";
}
