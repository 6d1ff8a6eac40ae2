using System.Buffers;
using System.Collections.Frozen;
using System.Text;
using System.Text.Json;

namespace PolicyLayer.Policies;

/// <summary>
/// The fast read of a version-1 document: one pass of a <see cref="Utf8JsonReader"/> that checks each rule of
/// <c>tools</c> as the full read would and keeps its text, so that the rule is built when a call first matches it (see
/// <see cref="ToolRules"/>). It accepts only what it knows the full read accepts, and builds only what the full read
/// would: anything else (an error, a key written with escapes, an object inside a condition's value) declines, and the
/// full read then decides and reports with line and column.
/// </summary>
internal sealed partial class PolicyReaderV1
{
    // The fields of an item of require / deny_if / require_approval_if: the hosted shape's two, then a bare condition's four.
    private static readonly FieldList PredicateItemFieldList = new("conditions", "on_deny", "path", "op", "value", "reason");
    private const int ItemConditions = 0, ItemOnDeny = 1, ItemPath = 2, ItemOp = 3, ItemValue = 4, ItemReason = 5;

    private const int RootSchema = 0, RootVersion = 1, RootRevision = 2, RootDefault = 3, RootHide = 4, RootAllTools = 5, RootTools = 6, RootRisk = 7, RootClassify = 8;

    /// <summary>The policy of <paramref name="utf8"/> (without a byte order mark), or null when the fast read declines it.</summary>
    internal static CompiledPolicy? TryReadFast(ReadOnlySpan<byte> utf8)
    {
        if (utf8.StartsWith("\uFEFF"u8) || PolicyDocument.MayHoldLoneSurrogate(utf8))
        {
            return null;
        }

        var session = new Session(new PolicyErrorList());
        try
        {
            var reader = new Session.FastReader(session, utf8);
            return reader.Read();
        }
        catch (JsonException)
        {
            // Not well formed: the full read says where.
            return null;
        }
        catch (InvalidOperationException)
        {
            // A string that does not decode: the full read decides.
            return null;
        }
        finally
        {
            session.ReturnPooled();
        }
    }

    /// <summary>
    /// Builds the rule of <paramref name="key"/> from its text, which the fast read checked when the policy loaded, with
    /// the policy's counters (the rule's limits count in them; none is added), condition paths and values.
    /// </summary>
    /// <exception cref="InvalidOperationException">The rule does not build: a defect of the fast read, and the call is refused.</exception>
    internal static CompiledRule BuildCheckedRule(ReadOnlyMemory<byte> text, string key, RuleSource source)
    {
        using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = PolicyLimits.MaxDepth });
        var errors = new PolicyErrorList();
        var session = new Session(errors);
        var rule = session.ReadCheckedRule(document.RootElement, key, source);
        if (rule is null || errors.Count > 0)
        {
            var pointer = PolicyPointer.Tool(key).Text;
            throw new InvalidOperationException(
                $"The rule {pointer} passed the policy's checks when it loaded but does not build: {(errors.Count > 0 ? errors.Errors[0].Message : "no rule")}");
        }

        return rule;
    }

    /// <summary>Whether <paramref name="text"/> is a declared revision the full read accepts.</summary>
    private static bool IsRevision(string text) =>
        text.Length is > 0 and <= MaxRevisionLength && !text.Any(char.IsControl) && text.Trim().Length == text.Length;

    /// <summary>Whether <paramref name="text"/> is <c>args.</c> followed by dot-separated names, none of them empty.</summary>
    private static bool IsArgumentPath(ReadOnlySpan<char> text)
    {
        if (!text.StartsWith("args.") || text.Length == 5)
        {
            return false;
        }

        var rest = text[5..];
        return rest[0] != '.' && rest[^1] != '.' && !rest.Contains("..", StringComparison.Ordinal);
    }

    /// <summary>Whether <paramref name="text"/> is a condition's path: into the arguments, or a property of the caller.</summary>
    private static bool IsConditionPath(ReadOnlySpan<char> text, out bool caller)
    {
        caller = text.StartsWith("caller.");
        return caller
            ? text is "caller.grant" or "caller.user" or "caller.agent" or "caller.session"
                || (text.StartsWith(ConditionPath.ClaimsPrefix) && text.Length > ConditionPath.ClaimsPrefix.Length)
            : IsArgumentPath(text);
    }

    private sealed partial class Session
    {
        /// <summary>The rule <paramref name="rule"/> of <paramref name="key"/>, built after the load with its counters.</summary>
        public CompiledRule? ReadCheckedRule(JsonElement rule, string key, RuleSource source)
        {
            _counters = source.Counters;
            _countersFixed = true;
            _paths = source.Paths;
            _sharedValues = source.Values;
            var compiled = ReadRule(rule, ToolsPath.Property(key), PolicyPointer.Tool(key));
            if (compiled is not null)
            {
                DetachValues();
            }

            return compiled;
        }

        /// <summary>
        /// A limit read by the fast read, whose counter is defined once the rule is read (limits, then rate_limit): its name
        /// is <paramref name="NameLength"/> characters at <paramref name="NameStart"/> of the rule's names (none for the shorthand).
        /// </summary>
        private readonly record struct PendingLimit(int NameStart, int NameLength, long Max, TimeSpan Window, CounterScope Scope, string? IncrementFrom);

        /// <summary>What the fast read knows of a condition once its object is read (its fields come in any order).</summary>
        private struct ConditionFacts
        {
            public bool HasPath;
            public bool CallerPath;
            public ConditionOperator? Operator;
            public JsonTokenType ValueToken;
            public int ValueStart;
            public int ValueLength;
        }

        /// <summary>The fast read over one document: the reader's position is passed by reference from item to item.</summary>
        public ref struct FastReader(Session session, ReadOnlySpan<byte> utf8)
        {
            private readonly ReadOnlySpan<byte> _utf8 = utf8;

            // The limits of the rule being read, their counters' names, and the counters they resolved to, by ordinal (for
            // the check of one amount per counter).
            private readonly List<PendingLimit> _pending = [];
            private readonly List<char> _names = [];
            private readonly List<(int Counter, string? IncrementFrom)> _ruleLimits = [];

            public CompiledPolicy? Read()
            {
                var reader = new Utf8JsonReader(_utf8, new JsonReaderOptions { MaxDepth = PolicyLimits.MaxDepth });
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    return null;
                }

                // At most one counter per "counter" or "rate_limit" written (searched from their first letter: a needle that
                // starts with a quote stops at every string).
                var counters = Occurrences(_utf8, "counter\""u8) + Occurrences(_utf8, "rate_limit\""u8);
                session._counters = new(counters);
                session._definedAt = ArrayPool<PolicyPointer>.Shared.Rent(Math.Max(counters, 16));

                // The tools are read in the same pass unless all_tools may follow them: its limits come first (counters
                // are numbered in the full read's order, and every rule's limits are checked against all_tools').
                var toolsInline = _utf8.IndexOf("all_tools\""u8) < 0;
                Span<(int Start, int Length)> sections = stackalloc (int, int)[RootFieldList.Count];
                var seen = 0u;
                var hasVersion = false;
                var defaultAction = PolicyAction.Deny;
                string? revision = null;
                ToolRules? tools = null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var field = Field(ref reader, RootFieldList, ref seen);
                    if (field < 0)
                    {
                        return null;
                    }

                    switch (field)
                    {
                        case RootSchema:
                            if (reader.TokenType != JsonTokenType.String)
                            {
                                return null;
                            }

                            break;
                        case RootVersion:
                            if (reader.TokenType != JsonTokenType.String || !reader.ValueTextEquals("1"u8))
                            {
                                return null;
                            }

                            hasVersion = true;
                            break;
                        case RootRevision:
                            if (reader.TokenType != JsonTokenType.String || reader.GetString() is not { } text || !IsRevision(text))
                            {
                                return null;
                            }

                            revision = text;
                            break;
                        case RootDefault:
                            if (!TryKeyword(ref reader, Actions, out defaultAction))
                            {
                                return null;
                            }

                            break;
                        case RootTools when toolsInline || (seen & (1u << RootAllTools)) != 0:
                            tools = ReadTools(ref reader);
                            if (tools is null)
                            {
                                return null;
                            }

                            break;
                        default:
                            var start = (int)reader.TokenStartIndex;
                            reader.Skip();
                            sections[field] = (start, (int)reader.BytesConsumed - start);
                            if (field == RootAllTools && !TryReadSection(sections[field], static (s, all) => s.ReadAllTools(all), out _))
                            {
                                return null;
                            }

                            break;
                    }
                }

                // The root object ends, and nothing but whitespace follows it.
                if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || !hasVersion)
                {
                    return null;
                }

                if (tools is null && (seen & (1u << RootTools)) != 0)
                {
                    var (start, length) = sections[RootTools];
                    // A reader of the section's own: every offset it gives (a rule's text, a condition's value) is into the section.
                    var toolsSection = _utf8.Slice(start, length);
                    var toolsReader = new Utf8JsonReader(toolsSection, new JsonReaderOptions { MaxDepth = PolicyLimits.MaxDepth });
                    toolsReader.Read();
                    tools = new FastReader(session, toolsSection).ReadTools(ref toolsReader);
                    if (tools is null)
                    {
                        return null;
                    }
                }

                NameMatcher<bool> hide = NameMatcher<bool>.Empty;
                CompiledRule?[] risk = new CompiledRule?[Categories.Count];
                NameMatcher<ClassifyEntry> classify = NameMatcher<ClassifyEntry>.Empty;
                if (((seen & (1u << RootHide)) != 0 && !TryReadSection(sections[RootHide], static (s, section) => s.ReadHide(section), out hide))
                    || ((seen & (1u << RootRisk)) != 0 && !TryReadSection(sections[RootRisk], static (s, section) => s.ReadRisk(section), out risk))
                    || ((seen & (1u << RootClassify)) != 0 && !TryReadSection(sections[RootClassify], static (s, section) => s.ReadClassify(section), out classify)))
                {
                    return null;
                }

                if (session.Errors.Count > 0 || session.DuplicateKeys != Policies.DuplicateKeys.Outcome.None)
                {
                    return null;
                }

                var compiled = new CompiledPolicy
                {
                    Version = "1",
                    DeclaredRevision = revision,
                    DefaultAction = defaultAction,
                    Hide = hide,
                    Tools = tools ?? ToolRules.Empty,
                    RiskRules = risk,
                    Classify = classify,
                    AllToolsLimits = session._allToolsLimits,
                    Counters = session._counters,
                };
                compiled.Revision = revision ?? ContentRevision.Of(_utf8);
                return compiled;
            }

            /// <summary>
            /// A section other than tools (all_tools, hide, risk, classify: a few entries each), read by the full read's own
            /// <paramref name="read"/> from a parse of the section's text alone; false when that read finds anything to report.
            /// </summary>
            private readonly bool TryReadSection<T>((int Start, int Length) section, Func<Session, JsonElement, T> read, out T result)
            {
                using var document = JsonDocument.Parse(_utf8.Slice(section.Start, section.Length).ToArray(), new JsonDocumentOptions { MaxDepth = PolicyLimits.MaxDepth });
                result = read(session, document.RootElement);
                if (session.Errors.Count > 0)
                {
                    return false;
                }

                // The risk rules' condition values are this parse's: copied out before it goes.
                session.DetachValues();
                return session.DuplicateKeys == Policies.DuplicateKeys.Outcome.None;
            }

            /// <summary>
            /// The <c>tools</c> object the reader is at (a reader of this fast reader's text: the offsets it gives are into
            /// it): every key into the matcher as its characters, every non-empty rule checked and its text kept.
            /// </summary>
            private readonly ToolRules? ReadTools(ref Utf8JsonReader reader)
            {
                var section = _utf8;
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return null;
                }

                // About one key per 32 bytes of the section, and up to half its bytes in keys: the builder grows past that.
                var rules = new NameMatcher<RuleSlot>.Builder(Math.Max(section.Length / 32, 16), Math.Max(section.Length / 2, 256));

                // Where each non-empty rule's text is in the section and its place in the kept text, in document order, to
                // be copied out once at the end.
                var bodies = ArrayPool<(int Start, int Length, int Place)>.Shared.Rent(Math.Max(section.Length / 64, 16));
                var count = 0;
                var layout = new ChunkedText(Chunking.SmallChunkBytes);
                var built = false;
                try
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        int keyLength;
                        if (reader.ValueIsEscaped)
                        {
                            var name = reader.GetString()!;
                            if (string.IsNullOrWhiteSpace(name))
                            {
                                return null;
                            }

                            name.CopyTo(rules.Reserve(name.Length));
                            keyLength = name.Length;
                        }
                        else
                        {
                            var raw = reader.ValueSpan;
                            var chars = rules.Reserve(raw.Length);
                            // Most names are ASCII: widened as they are, else decoded.
                            keyLength = Ascii.ToUtf16(raw, chars, out var widened) == OperationStatus.Done ? widened : Encoding.UTF8.GetChars(raw, chars);
                            if (chars[..keyLength].IsWhiteSpace())
                            {
                                return null;
                            }
                        }

                        reader.Read();
                        if (reader.TokenType != JsonTokenType.StartObject)
                        {
                            return null;
                        }

                        var start = (int)reader.TokenStartIndex;
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.EndObject)
                        {
                            // An empty rule: its key alone.
                            rules.Add(keyLength, default);
                            continue;
                        }

                        if (!CheckRule(ref reader, rules.Reserve(keyLength)[..keyLength]))
                        {
                            return null;
                        }

                        var length = (int)reader.BytesConsumed - start;
                        if (count == bodies.Length)
                        {
                            var larger = ArrayPool<(int, int, int)>.Shared.Rent(count * 2);
                            bodies.AsSpan(0, count).CopyTo(larger);
                            ArrayPool<(int, int, int)>.Shared.Return(bodies);
                            bodies = larger;
                        }

                        var place = layout.Place(length);
                        bodies[count++] = (start, length, place);
                        rules.Add(keyLength, new RuleSlot(null, place, length));
                    }

                    built = true;
                    var matcher = new NameMatcher<RuleSlot>(rules);
                    if (matcher.DuplicateKey is not null)
                    {
                        return null;
                    }

                    // The rules' texts, at the places their slots say.
                    var text = layout.Allocate<byte>();
                    foreach (var (start, length, place) in bodies.AsSpan(0, count))
                    {
                        section.Slice(start, length).CopyTo(ChunkedText.At(text, place, length));
                    }

                    return new ToolRules(matcher, new RuleSource(text, session._counters, session._paths));
                }
                finally
                {
                    if (!built)
                    {
                        rules.Dispose();
                    }

                    ArrayPool<(int, int, int)>.Shared.Return(bodies);
                }
            }

            /// <summary>
            /// Checks the rule of the tool <paramref name="key"/>, whose object the reader is in, at its first field's name
            /// (the rule is not empty), and defines its counters.
            /// </summary>
            private readonly bool CheckRule(ref Utf8JsonReader reader, ReadOnlySpan<char> key)
            {
                _pending.Clear();
                _names.Clear();
                PendingLimit? rateLimit = null;
                var action = PolicyAction.Allow;
                var seen = 0u;
                do
                {
                    var field = Field(ref reader, RuleFieldList, ref seen);
                    if (field < 0)
                    {
                        return false;
                    }

                    var ok = field switch
                    {
                        RuleAction => TryKeyword(ref reader, Actions, out action),
                        RuleReason => reader.TokenType == JsonTokenType.String,
                        RuleRequire or RuleDenyIf or RuleApprovalIf => CheckList(ref reader, predicate: true),
                        RuleLimits => CheckLimits(ref reader),
                        _ => CheckBudget(ref reader, RateLimitFieldList, CounterScope.Session, out rateLimit),
                    };
                    if (!ok)
                    {
                        return false;
                    }
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName);

                const uint Limited = (1u << RuleLimits) | (1u << RuleRateLimit);
                if (action == PolicyAction.Deny && (seen & Limited) != 0)
                {
                    return false;
                }

                // The counters in the full read's order: the limits, then the rate_limit shorthand (named after its pointer).
                _ruleLimits.Clear();
                foreach (var limit in _pending)
                {
                    if (!Define(limit, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_names).Slice(limit.NameStart, limit.NameLength)))
                    {
                        return false;
                    }
                }

                if (rateLimit is { } shorthand && !Define(shorthand, PolicyPointer.Tool(new string(key)).FieldOf("rate_limit").Text))
                {
                    return false;
                }

                // One amount per counter among the limits one call meets: this rule's and all_tools'.
                for (var i = 0; i < _ruleLimits.Count; i++)
                {
                    var (counter, incrementFrom) = _ruleLimits[i];
                    for (var j = 0; j < i; j++)
                    {
                        if (_ruleLimits[j].Counter == counter && _ruleLimits[j].IncrementFrom != incrementFrom)
                        {
                            return false;
                        }
                    }

                    foreach (var other in session._allToolsLimits)
                    {
                        if (other.Counter.Ordinal == counter && other.IncrementFrom?.Text != incrementFrom)
                        {
                            return false;
                        }
                    }
                }

                return true;
            }

            private readonly bool Define(PendingLimit limit, ReadOnlySpan<char> name)
            {
                var counter = session.DefineCounterOrdinal(name, limit.Max, limit.Window, limit.Scope, LazyJsonPath.Root, default, limit.IncrementFrom);
                if (counter < 0)
                {
                    return false;
                }

                _ruleLimits.Add((counter, limit.IncrementFrom));
                return true;
            }

            /// <summary>
            /// An item of a predicate list (<paramref name="predicate"/>: the hosted shape, with <c>conditions</c>, or a bare
            /// condition, told apart once its object is read) or of a hosted predicate's <c>conditions</c> (a condition only).
            /// </summary>
            private readonly bool CheckItem(ref Utf8JsonReader reader, bool predicate)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                const uint Hosted = (1u << ItemConditions) | (1u << ItemOnDeny);
                var facts = default(ConditionFacts);
                var seen = 0u;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var field = Field(ref reader, PredicateItemFieldList, ref seen);
                    var ok = field switch
                    {
                        < 0 => false,
                        ItemConditions => predicate && CheckList(ref reader, predicate: false),
                        ItemOnDeny => predicate && reader.TokenType == JsonTokenType.String,
                        _ => TakeConditionField(ref reader, field - ItemPath, ref facts),
                    };
                    if (!ok)
                    {
                        return false;
                    }
                }

                return (seen & (1u << ItemConditions)) != 0
                    ? (seen & ~Hosted) == 0
                    : (seen & (1u << ItemOnDeny)) == 0 && CheckCondition(facts);
            }

            /// <summary>The array the reader is at: predicates (require, deny_if, require_approval_if) or a hosted predicate's conditions.</summary>
            private readonly bool CheckList(ref Utf8JsonReader reader, bool predicate)
            {
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return false;
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (!CheckItem(ref reader, predicate))
                    {
                        return false;
                    }
                }

                return true;
            }

            /// <summary>A condition's field (by its place in ConditionFieldList), whose value the reader is at.</summary>
            private readonly bool TakeConditionField(ref Utf8JsonReader reader, int field, ref ConditionFacts facts)
            {
                switch (field)
                {
                    case ConditionPathField:
                        if (reader.TokenType != JsonTokenType.String)
                        {
                            return false;
                        }

                        Span<char> buffer = stackalloc char[MaxSharedTextLength];
                        var text = Decode(in reader, buffer);
                        facts.HasPath = IsConditionPath(text, out facts.CallerPath);
                        return facts.HasPath;
                    case ConditionOp:
                        if (!TryKeyword(ref reader, Operators, out var op))
                        {
                            return false;
                        }

                        facts.Operator = op;
                        return true;
                    case ConditionReason:
                        return reader.TokenType == JsonTokenType.String;
                    default:
                        // Free-form JSON: an object in it may hold a key twice, which the full read looks for.
                        facts.ValueToken = reader.TokenType;
                        facts.ValueStart = (int)reader.TokenStartIndex;
                        if (reader.TokenType == JsonTokenType.StartObject)
                        {
                            return false;
                        }

                        reader.Skip();
                        facts.ValueLength = (int)reader.BytesConsumed - facts.ValueStart;
                        return reader.TokenType != JsonTokenType.EndArray || _utf8.Slice(facts.ValueStart, facts.ValueLength).IndexOf((byte)'{') < 0;
                }
            }

            /// <summary>Whether a condition of these facts is one the full read accepts: a path, an operator, and the value it needs.</summary>
            private readonly bool CheckCondition(in ConditionFacts facts)
            {
                if (!facts.HasPath || facts.Operator is not { } op)
                {
                    return false;
                }

                var hasValue = facts.ValueLength > 0;
                var value = facts.ValueToken;
                switch (op)
                {
                    case ConditionOperator.Exists:
                        return !hasValue || value is JsonTokenType.True or JsonTokenType.False;
                    case ConditionOperator.In or ConditionOperator.NotIn:
                        return hasValue && value == JsonTokenType.StartArray;
                    case ConditionOperator.Lt or ConditionOperator.Lte or ConditionOperator.Gt or ConditionOperator.Gte:
                        return !facts.CallerPath && hasValue && value == JsonTokenType.Number;
                    case ConditionOperator.Regex:
                        if (!hasValue || value != JsonTokenType.String)
                        {
                            return false;
                        }

                        var reader = new Utf8JsonReader(_utf8.Slice(facts.ValueStart, facts.ValueLength));
                        reader.Read();
                        return session.CompileRegex(reader.GetString()!, LazyJsonPath.Root) is not null;
                    default:
                        return hasValue;
                }
            }

            /// <summary>The <c>limits</c> array the reader is at; each limit pending until the rule is read.</summary>
            private readonly bool CheckLimits(ref Utf8JsonReader reader)
            {
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return false;
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (!CheckBudget(ref reader, LimitFieldList, CounterScope.Grant, out var limit))
                    {
                        return false;
                    }

                    _pending.Add(limit!.Value);
                }

                return true;
            }

            /// <summary>A limit (<paramref name="fields"/> is LimitFieldList) or the rate_limit shorthand (RateLimitFieldList) the reader is at.</summary>
            private readonly bool CheckBudget(ref Utf8JsonReader reader, FieldList fields, CounterScope scope, out PendingLimit? limit)
            {
                limit = null;
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                long max = 0;
                TimeSpan? window = null;
                string? incrementFrom = null;
                var (nameStart, nameLength) = (-1, 0);
                var seen = 0u;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var field = Field(ref reader, fields, ref seen);
                    if (field < 0)
                    {
                        return false;
                    }

                    var ok = field switch
                    {
                        BudgetMax => reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out max) && max >= 1 && max <= PolicyLimits.MaxUnits,
                        BudgetWindow => (window = ReadWindow(ref reader)) is not null,
                        BudgetScope => TryKeyword(ref reader, Scopes, out scope),
                        LimitCounter => CounterName(ref reader, out nameStart, out nameLength),
                        _ => reader.TokenType == JsonTokenType.String && IsArgumentPath(incrementFrom = reader.GetString()!),
                    };
                    if (!ok)
                    {
                        return false;
                    }
                }

                // A limit names its counter; the shorthand's is named after its pointer once the rule is read.
                const uint Budget = (1u << BudgetMax) | (1u << BudgetWindow);
                if ((seen & Budget) != Budget || (fields == LimitFieldList && nameStart < 0))
                {
                    return false;
                }

                limit = new PendingLimit(nameStart, nameLength, max, window!.Value, scope, incrementFrom);
                return true;
            }

            /// <summary>
            /// A limit's counter name, kept with the rule's names (at <paramref name="start"/>, <paramref name="length"/>
            /// characters): false unless it is a string, not empty and not starting with '/' (the shorthands' names).
            /// </summary>
            private readonly bool CounterName(ref Utf8JsonReader reader, out int start, out int length)
            {
                (start, length) = (-1, 0);
                if (reader.TokenType != JsonTokenType.String)
                {
                    return false;
                }

                Span<char> buffer = stackalloc char[MaxSharedTextLength];
                var text = Decode(in reader, buffer);
                if (text.IsEmpty || text[0] == '/')
                {
                    return false;
                }

                (start, length) = (_names.Count, text.Length);
                _names.AddRange(text);
                return true;
            }

            /// <summary>A window: second, minute, hour or day, a whole number of seconds, or a duration such as "90s" (at most 366 days).</summary>
            private static TimeSpan? ReadWindow(ref Utf8JsonReader reader)
            {
                TimeSpan? window = null;
                if (reader.TokenType == JsonTokenType.Number)
                {
                    if (reader.TryGetInt64(out var seconds) && seconds > 0 && seconds <= (long)PolicyLimits.MaxWindow.TotalSeconds)
                    {
                        window = TimeSpan.FromSeconds(seconds);
                    }
                }
                else if (TryKeyword(ref reader, NamedWindows, out var named))
                {
                    return named;
                }
                else if (reader.TokenType == JsonTokenType.String)
                {
                    window = ParseWindow(reader.GetString()!);
                }

                return window > TimeSpan.Zero && window <= PolicyLimits.MaxWindow ? window : null;
            }

            /// <summary>
            /// The field whose name the reader is at, by its place in <paramref name="fields"/>, noted in <paramref name="seen"/>;
            /// the reader moves on to its value. -1 for a field that is unknown, written with escapes or written twice.
            /// </summary>
            private static int Field(ref Utf8JsonReader reader, FieldList fields, ref uint seen)
            {
                var field = reader.ValueIsEscaped ? -1 : fields.IndexOf(reader.ValueSpan);
                if (field < 0 || (seen & (1u << field)) != 0)
                {
                    return -1;
                }

                seen |= 1u << field;
                reader.Read();
                return field;
            }

            /// <summary>The keyword the string the reader is at spells, found without making a string when it is short and plain.</summary>
            private static bool TryKeyword<T>(ref Utf8JsonReader reader, FrozenDictionary<string, T> keywords, out T value)
            {
                value = default!;
                if (reader.TokenType != JsonTokenType.String)
                {
                    return false;
                }

                Span<char> buffer = stackalloc char[MaxSharedTextLength];
                return keywords.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(Decode(in reader, buffer), out value!);
            }

            /// <summary>The string the reader is at, decoded into <paramref name="buffer"/> when it is plain and fits, else as a new string.</summary>
            private static ReadOnlySpan<char> Decode(in Utf8JsonReader reader, Span<char> buffer)
            {
                var raw = reader.ValueSpan;
                return reader.ValueIsEscaped || raw.Length > buffer.Length
                    ? reader.GetString()
                    : buffer[..Encoding.UTF8.GetChars(raw, buffer)];
            }
        }
    }
}
