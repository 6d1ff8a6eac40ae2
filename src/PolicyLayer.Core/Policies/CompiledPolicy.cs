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

    public required ToolRules Tools { get; init; }

    /// <summary>The <c>risk</c> rules, indexed by <see cref="RiskCategory"/>; null where none.</summary>
    public required CompiledRule?[] RiskRules { get; init; }

    public required NameMatcher<ClassifyEntry> Classify { get; init; }

    public required CompiledLimit[] AllToolsLimits { get; init; }

    public required PolicyCounters Counters { get; init; }

    public int RuleCount => Tools.Count;
}

/// <summary>
/// The <c>tools</c> rules by name or glob. A rule's <see cref="CompiledRule"/> is made the first time a call matches it
/// and kept in its slot: an empty rule (<c>"tool": {}</c>, most rules of a large policy) from its key alone, a rule the
/// fast reader checked from its source text (<see cref="RuleSource"/>). A load therefore builds no object per rule, and
/// allowed calls still allocate nothing once a tool has been seen.
/// </summary>
internal sealed class ToolRules(NameMatcher<RuleSlot> rules, RuleSource? source = null)
{
    public static ToolRules Empty { get; } = new(NameMatcher<RuleSlot>.Empty);

    public int Count => rules.Count;

    /// <summary>The text of the rules that are built on first match; null when every rule was built at load.</summary>
    internal RuleSource? Source => source;

    /// <summary>The first key (in document order) written a second time, or null when every key is distinct.</summary>
    public string? DuplicateKey => rules.DuplicateKey;

    /// <summary>The rule of the exact name, else of the most specific glob that matches <paramref name="name"/>.</summary>
    /// <exception cref="InvalidOperationException">A rule checked at load could not be built (a defect; the call is refused).</exception>
    public bool TryMatch(string name, out CompiledRule rule, out string? matchedKey)
    {
        ref var slot = ref rules.Find(name, out matchedKey);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot))
        {
            rule = null!;
            return false;
        }

        // Two threads may both make it; the first kept wins and both return it.
        rule = Volatile.Read(ref slot.Rule) ?? Interlocked.CompareExchange(ref slot.Rule, Make(slot, matchedKey!), null) ?? slot.Rule!;
        return true;
    }

    /// <summary>Every rule that matches <paramref name="name"/> in precedence order: the exact key, then globs from most to least specific (for explanations).</summary>
    public IEnumerable<KeyValuePair<string, CompiledRule>> MatchAll(string name) =>
        rules.MatchAll(name).Select(match => new KeyValuePair<string, CompiledRule>(match.Key, match.Value.Rule ?? Make(match.Value, match.Key)));

    /// <summary>Every key with its rule, exact names first, then globs from most to least specific.</summary>
    public IEnumerable<KeyValuePair<string, CompiledRule>> Entries =>
        rules.Entries.Select(entry => new KeyValuePair<string, CompiledRule>(entry.Key, entry.Value.Rule ?? Make(entry.Value, entry.Key)));

    private CompiledRule Make(in RuleSlot slot, string key) =>
        slot.SourceLength == 0 ? CompiledRule.AllowedBy(key) : source!.Build(slot.SourceStart, slot.SourceLength, key);
}

/// <summary>
/// A <c>tools</c> entry: its rule once made, else where its text is in the policy's <see cref="RuleSource"/> (length 0:
/// an empty rule, which allows).
/// </summary>
internal struct RuleSlot(CompiledRule? rule, int sourceStart = 0, int sourceLength = 0)
{
    public CompiledRule? Rule = rule;

    public readonly int SourceStart = sourceStart;

    public readonly int SourceLength = sourceLength;
}

/// <summary>
/// The text of the rules the fast reader checked at load, one after another in chunks, and what the rules built from it
/// share: the policy's counters by name (a built rule's limits count in the policy's own definitions), and the condition
/// paths and values read so far, so that rules built one by one hold one copy of each, as a load that builds them all
/// would.
/// </summary>
/// <remarks>
/// Chunks of <see cref="Chunking.SmallChunkBytes"/> (see <see cref="ChunkedText"/>): the text is written once and never
/// copied again, so it is kept off the large object heap however long it is.
/// </remarks>
internal sealed class RuleSource(byte[][] text, PolicyCounters counters, Dictionary<string, ConditionPath> paths)
{
    private readonly Lock _building = new();

    public PolicyCounters Counters => counters;

    /// <summary>The chunks' lengths, for the tests.</summary>
    internal IEnumerable<int> ChunkLengths => text.Select(chunk => chunk.Length);

    public Dictionary<string, ConditionPath> Paths => paths;

    public Dictionary<string, System.Text.Json.JsonElement> Values { get; } = new(StringComparer.Ordinal);

    /// <summary>The rule of <paramref name="key"/> whose text is <paramref name="length"/> bytes at the place <paramref name="start"/>.</summary>
    /// <remarks>One rule at a time: the shared tables are written as rules are built (each rule once, on its first match).</remarks>
    public CompiledRule Build(int start, int length, string key)
    {
        lock (_building)
        {
            return PolicyReaderV1.BuildCheckedRule(ChunkedText.MemoryAt(text, start, length), key, this);
        }
    }
}

/// <summary>An explicit category from the policy's <c>classify</c> section.</summary>
internal sealed record ClassifyEntry(RiskCategory Category, string Pointer);

/// <summary>One rule: of a tool name or glob, or of a risk category.</summary>
internal sealed class CompiledRule
{
    /// <summary>The rule's JSON Pointer, such as <c>/tools/create_refund</c>; written on first use and kept, as allowed calls name it.</summary>
    public string Pointer
    {
        // Two threads may both write it; they write equal texts, and either may win.
        get => _pointerText ??= _pointer.Text;
        init => _pointer = PolicyPointer.Of(value);
    }

    private string? _pointerText;

    /// <summary>The parts <see cref="Pointer"/> is written from when asked for (the reader keeps no text per rule or item).</summary>
    public PolicyPointer PointerParts
    {
        get => _pointer;
        init => _pointer = value;
    }

    private PolicyPointer _pointer;

    public required PolicyAction Action { get; init; }

    public string? Reason { get; init; }

    public Predicate[] Require { get; init; } = [];

    public Predicate[] DenyIf { get; init; } = [];

    public Predicate[] RequireApprovalIf { get; init; } = [];

    public CompiledLimit[] Limits { get; init; } = [];

    /// <summary>The reason of an allowed call, made once so that allowed calls allocate no text.</summary>
    public string AllowedReason => field ??= $"Allowed by {Pointer}.";

    /// <summary>The rule an empty <c>tools</c> entry (<c>{}</c>) stands for: allow, with nothing to check or count.</summary>
    public static CompiledRule AllowedBy(string toolKey) => new() { PointerParts = PolicyPointer.Tool(toolKey), Action = PolicyAction.Allow };

    /// <summary>Whether the rule refuses every call whatever its arguments (so tools/list can hide the tool).</summary>
    public bool DeniesOutright => Action == PolicyAction.Deny;
}

/// <summary>One limit of a rule: the counter it counts against and what each call adds.</summary>
internal sealed class CompiledLimit : PolicyItem
{
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
internal sealed class Condition : PolicyItem
{
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
