using System.Buffers;
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

    /// <summary>
    /// The operand, detached from the document being read (the reader copies every condition's value into one
    /// document of the policy's own); default for <c>exists</c> without a value. Set once, before the policy is used.
    /// </summary>
    public JsonElement Value { get; set; }

    public Regex? Regex { get; init; }

    /// <summary>For <c>exists</c>: whether the value must be present (true) or absent (false).</summary>
    public bool ExistsExpected { get; init; } = true;

    public string? Reason { get; init; }

    /// <summary>
    /// The condition in words, for reasons and explanations: <c>args.amount gt 10000</c>, the value as the document
    /// writes it. Made on first use (a refusal or an explanation), not for every condition at load.
    /// </summary>
    public string Text
    {
        // Two threads may both make it; they make equal texts, and either may win.
        get => _text ??= Operator switch
        {
            ConditionOperator.Exists => $"{Path.Text} {(ExistsExpected ? "exists" : "does not exist")}",
            ConditionOperator.Regex => $"{Path.Text} regex {Regex}",
            _ => WithRawValue(Path.Text, PolicyReaderV1.OperatorNames[(int)Operator], Value),
        };
        init => _text = value;
    }

    private string? _text;

    /// <summary>For <c>in</c> and <c>not_in</c>: a list longer than <see cref="JsonValueSet.Threshold"/> as a hash set, made on first use; else null.</summary>
    public JsonValueSet? ValueSet
    {
        get
        {
            if (!Volatile.Read(ref _valueSetMade))
            {
                // Two threads may both make it; they make equal sets, and either may win.
                _valueSet = Operator is ConditionOperator.In or ConditionOperator.NotIn ? JsonValueSet.For(Value) : null;
                Volatile.Write(ref _valueSetMade, true);
            }

            return _valueSet;
        }
    }

    private JsonValueSet? _valueSet;
    private bool _valueSetMade;

    /// <summary><c>path op value</c>, with the value's raw JSON (its spacing, number spelling and escapes as written), made as one string.</summary>
    private static string WithRawValue(string path, string op, JsonElement value)
    {
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value);
        return string.Create(path.Length + 1 + op.Length + 1 + System.Text.Encoding.UTF8.GetCharCount(raw), (path, op, value), static (text, state) =>
        {
            var (path, op, value) = state;
            path.CopyTo(text);
            text[path.Length] = ' ';
            op.CopyTo(text[(path.Length + 1)..]);
            text[path.Length + 1 + op.Length] = ' ';
            System.Text.Encoding.UTF8.GetChars(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value), text[(path.Length + op.Length + 2)..]);
        });
    }
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
/// (fewest wildcards, then the longest pattern, then document order), found through a <see cref="GlobIndex"/>.
/// </summary>
internal sealed class NameMatcher<T>
{
    private readonly Dictionary<string, T> _exact;

    // The globs most specific first, and their values at the same ranks: the index shares the globs' array.
    private readonly GlobPattern[] _globs;
    private readonly T[] _globValues;
    private readonly GlobIndex _index;

    public NameMatcher(IEnumerable<KeyValuePair<string, T>> entries)
        : this((entries as KeyValuePair<string, T>[] ?? [.. entries]).AsSpan())
    {
    }

    /// <summary>Builds the matcher from the document's entries in document order, sized from them: no collection grows or is copied.</summary>
    public NameMatcher(ReadOnlySpan<KeyValuePair<string, T>> entries)
    {
        var globCount = 0;
        foreach (var entry in entries)
        {
            if (GlobPattern.IsGlob(entry.Key))
            {
                globCount++;
            }
        }

        var exact = new Dictionary<string, T>(entries.Length - globCount, StringComparer.Ordinal);

        // Working arrays from the pool: at 100,000 rules they would be large objects, whose allocation starts full collections.
        var inDocumentOrder = ArrayPool<(GlobPattern Glob, T Value)>.Shared.Rent(globCount);
        var order = ArrayPool<int>.Shared.Rent(globCount);
        var g = 0;
        foreach (var (key, value) in entries)
        {
            if (GlobPattern.IsGlob(key))
            {
                inDocumentOrder[g++] = (new GlobPattern(key), value);
            }
            else
            {
                exact[key] = value;
            }
        }

        // Most specific first (fewest wildcards, then the longest pattern), then document order.
        for (var i = 0; i < globCount; i++)
        {
            order[i] = i;
        }

        order.AsSpan(0, globCount).Sort((a, b) => GlobPattern.CompareSpecificity(inDocumentOrder[a].Glob, inDocumentOrder[b].Glob) is var c and not 0 ? c : a.CompareTo(b));
        var globs = new GlobPattern[globCount];
        var values = new T[globCount];
        for (var rank = 0; rank < globCount; rank++)
        {
            (globs[rank], values[rank]) = inDocumentOrder[order[rank]];
        }

        ArrayPool<(GlobPattern Glob, T Value)>.Shared.Return(inDocumentOrder, clearArray: true);
        ArrayPool<int>.Shared.Return(order);

        _exact = exact;
        _globs = globs;
        _globValues = values;
        _index = new GlobIndex(globs);
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

        for (var rank = 0; rank < _globs.Length; rank++)
        {
            if (_globs[rank].IsMatch(name))
            {
                yield return new(_globs[rank].Pattern, _globValues[rank]);
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

        if (_index.TryMatch(name, out var rank))
        {
            value = _globValues[rank];
            matchedKey = _globs[rank].Pattern;
            return true;
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

    /// <summary>Precedence between two globs: fewer wildcards first, then the longer pattern; 0 when neither is more specific.</summary>
    public static int CompareSpecificity(GlobPattern a, GlobPattern b) =>
        a.WildcardCount != b.WildcardCount ? a.WildcardCount.CompareTo(b.WildcardCount) : b.Pattern.Length.CompareTo(a.Pattern.Length);

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
