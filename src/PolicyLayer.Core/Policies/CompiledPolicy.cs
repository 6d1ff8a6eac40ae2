using System.Collections.Frozen;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PolicyLayer.Policies;

/// <summary>
/// A policy document in the form evaluation uses: immutable, rules looked up by name, globs and
/// regexes compiled once, each counter resolved to one <see cref="CounterDefinition"/>.
/// </summary>
internal sealed class CompiledPolicy
{
    public required string Version { get; init; }

    /// <summary>The document's own <c>revision</c> field, or null when it declares none.</summary>
    public string? DeclaredRevision { get; init; }

    /// <summary>The declared revision, else a short hash of the document's canonical content (set once, by the loader).</summary>
    public string Revision { get; set; } = "";

    public required PolicyAction DefaultAction { get; init; }

    public required NameMatcher<bool> Hide { get; init; }

    public required NameMatcher<CompiledRule> Tools { get; init; }

    /// <summary>The <c>risk</c> rules, indexed by <see cref="RiskCategory"/>; null where none.</summary>
    public required CompiledRule?[] RiskRules { get; init; }

    public required NameMatcher<ClassifyEntry> Classify { get; init; }

    public required CompiledLimit[] AllToolsLimits { get; init; }

    public required CounterDefinition[] Counters { get; init; }

    public int RuleCount => Tools.Count;
}

/// <summary>An explicit category from the policy's <c>classify</c> section.</summary>
internal sealed record ClassifyEntry(RiskCategory Category, string Pointer);

/// <summary>One rule: of a tool name or glob, or of a risk category.</summary>
internal sealed class CompiledRule
{
    public required string Pointer { get; init; }

    public required PolicyAction Action { get; init; }

    public string? Reason { get; init; }

    public Predicate[] Require { get; init; } = [];

    public Predicate[] DenyIf { get; init; } = [];

    public Predicate[] RequireApprovalIf { get; init; } = [];

    public CompiledLimit[] Limits { get; init; } = [];

    /// <summary>The reason of an allowed call, made once so that allowed calls allocate no text.</summary>
    public string AllowedReason => field ??= $"Allowed by {Pointer}.";

    /// <summary>Whether the rule refuses every call whatever its arguments (so tools/list can hide the tool).</summary>
    public bool DeniesOutright => Action == PolicyAction.Deny;
}

/// <summary>One limit of a rule: the counter it counts against and what each call adds.</summary>
internal sealed class CompiledLimit
{
    public required string Pointer { get; init; }

    public required CounterDefinition Counter { get; init; }

    /// <summary>Where the call's amount is, for spend caps; null when each call adds 1.</summary>
    public ArgumentPath? IncrementFrom { get; init; }
}

/// <summary>The operators of a condition.</summary>
internal enum ConditionOperator
{
    Eq,
    Neq,
    In,
    NotIn,
    Lt,
    Lte,
    Gt,
    Gte,
    Regex,
    Contains,
    Exists,
}

/// <summary>One condition on a call's arguments or its caller.</summary>
internal sealed class Condition
{
    public required string Pointer { get; init; }

    public required ConditionPath Path { get; init; }

    public required ConditionOperator Operator { get; init; }

    /// <summary>The operand (a detached clone of the document's value); default for <c>exists</c>.</summary>
    public JsonElement Value { get; init; }

    public Regex? Regex { get; init; }

    /// <summary>For <c>exists</c>: whether the value must be present (true) or absent (false).</summary>
    public bool ExistsExpected { get; init; } = true;

    public string? Reason { get; init; }

    /// <summary>The condition in words, for reasons and explanations: <c>args.amount gt 10000</c>.</summary>
    public required string Text { get; init; }
}

/// <summary>A dotted path into a call's arguments (<c>args.customer.id</c>), split once at load.</summary>
internal sealed class ArgumentPath
{
    public ArgumentPath(string text, string[] segments)
    {
        Text = text;
        Segments = segments;
    }

    /// <summary>The path as written, with its <c>args.</c> prefix.</summary>
    public string Text { get; }

    /// <summary>The segments after <c>args.</c>; a segment of digits also indexes arrays.</summary>
    public string[] Segments { get; }

    /// <summary>Finds the value at this path, or returns false when any step is absent.</summary>
    public bool TryResolve(IReadOnlyDictionary<string, JsonElement>? arguments, out JsonElement value)
    {
        value = default;
        if (arguments is null || !arguments.TryGetValue(Segments[0], out value))
        {
            return false;
        }

        for (var i = 1; i < Segments.Length; i++)
        {
            var segment = Segments[i];
            switch (value.ValueKind)
            {
                case JsonValueKind.Object:
                    if (!value.TryGetProperty(segment, out value))
                    {
                        return false;
                    }

                    break;
                case JsonValueKind.Array:
                    if (!int.TryParse(segment, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
                        || index >= value.GetArrayLength())
                    {
                        return false;
                    }

                    value = value[index];
                    break;
                default:
                    return false;
            }
        }

        return true;
    }

    public override string ToString() => Text;
}

/// <summary>
/// Looks a tool name up among exact keys and globs: the exact name first, else the most specific glob
/// (fewest wildcards, then the longest pattern, then document order).
/// </summary>
internal sealed class NameMatcher<T>
{
    private readonly FrozenDictionary<string, T> _exact;
    private readonly (GlobPattern Glob, T Value)[] _globs;

    public NameMatcher(IEnumerable<KeyValuePair<string, T>> entries)
    {
        var exact = new Dictionary<string, T>(StringComparer.Ordinal);
        var globs = new List<(GlobPattern, T, int)>();
        var order = 0;
        foreach (var (key, value) in entries)
        {
            if (GlobPattern.IsGlob(key))
            {
                globs.Add((new GlobPattern(key), value, order++));
            }
            else
            {
                exact[key] = value;
            }
        }

        _exact = exact.ToFrozenDictionary(StringComparer.Ordinal);
        _globs = [.. globs
            .OrderBy(g => g.Item1.WildcardCount)
            .ThenByDescending(g => g.Item1.Pattern.Length)
            .ThenBy(g => g.Item3)
            .Select(g => (g.Item1, g.Item2))];
    }

    public static NameMatcher<T> Empty { get; } = new([]);

    public int Count => _exact.Count + _globs.Length;

    /// <summary>Every key that matches <paramref name="name"/> in precedence order: the exact key, then globs from most to least specific (for explanations).</summary>
    public IEnumerable<KeyValuePair<string, T>> MatchAll(string name)
    {
        if (_exact.TryGetValue(name, out var exact))
        {
            yield return new(name, exact);
        }

        foreach (var (glob, candidate) in _globs)
        {
            if (glob.IsMatch(name))
            {
                yield return new(glob.Pattern, candidate);
            }
        }
    }

    public bool TryMatch(string name, out T value, out string? matchedKey)
    {
        if (_exact.TryGetValue(name, out value!))
        {
            matchedKey = name;
            return true;
        }

        foreach (var (glob, candidate) in _globs)
        {
            if (glob.IsMatch(name))
            {
                value = candidate;
                matchedKey = glob.Pattern;
                return true;
            }
        }

        value = default!;
        matchedKey = null;
        return false;
    }
}

/// <summary>A tool-name glob: <c>*</c> any run of characters, <c>?</c> one character; everything else literal.</summary>
internal sealed class GlobPattern
{
    public GlobPattern(string pattern)
    {
        Pattern = pattern;
        foreach (var c in pattern)
        {
            if (c is '*' or '?')
            {
                WildcardCount++;
            }
        }
    }

    public string Pattern { get; }

    public int WildcardCount { get; }

    public static bool IsGlob(string key) => key.AsSpan().IndexOfAny('*', '?') >= 0;

    /// <summary>Iterative matching with backtracking to the last star: linear in practice, no regex.</summary>
    public bool IsMatch(string text)
    {
        var p = Pattern.AsSpan();
        var t = text.AsSpan();
        int pi = 0, ti = 0, star = -1, mark = 0;
        while (ti < t.Length)
        {
            if (pi < p.Length && (p[pi] == '?' || p[pi] == t[ti]))
            {
                pi++;
                ti++;
            }
            else if (pi < p.Length && p[pi] == '*')
            {
                star = pi++;
                mark = ti;
            }
            else if (star >= 0)
            {
                pi = star + 1;
                ti = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (pi < p.Length && p[pi] == '*')
        {
            pi++;
        }

        return pi == p.Length;
    }

    public override string ToString() => Pattern;
}
