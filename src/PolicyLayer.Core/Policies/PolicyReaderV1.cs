using System.Collections.Frozen;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PolicyLayer.Policies;

/// <summary>Reads policy documents of version "1" (the hosted PolicyLayer gateway's format plus optional additions).</summary>
internal sealed partial class PolicyReaderV1 : IPolicyReader
{
    internal static FrozenSet<string> RootFields => RootFieldList.Known;

    internal static FrozenSet<string> RuleFields => RuleFieldList.Known;

    internal static FrozenSet<string> AllToolsFields => AllToolsFieldList.Known;

    internal static FrozenSet<string> ConditionFields => ConditionFieldList.Known;

    /// <summary>The fields of a predicate in the hosted shape.</summary>
    internal static FrozenSet<string> PredicateFields => PredicateFieldList.Known;

    /// <summary>The longest declared <c>revision</c> accepted.</summary>
    internal const int MaxRevisionLength = 64;

    internal static FrozenSet<string> LimitFields => LimitFieldList.Known;

    internal static FrozenSet<string> RateLimitFields => RateLimitFieldList.Known;

    internal static readonly FrozenDictionary<string, PolicyAction> Actions = new Dictionary<string, PolicyAction>(StringComparer.Ordinal)
    {
        ["allow"] = PolicyAction.Allow,
        ["deny"] = PolicyAction.Deny,
        ["require_approval"] = PolicyAction.RequireApproval,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    internal static readonly FrozenDictionary<string, ConditionOperator> Operators = new Dictionary<string, ConditionOperator>(StringComparer.Ordinal)
    {
        ["eq"] = ConditionOperator.Eq,
        ["neq"] = ConditionOperator.Neq,
        ["in"] = ConditionOperator.In,
        ["not_in"] = ConditionOperator.NotIn,
        ["lt"] = ConditionOperator.Lt,
        ["lte"] = ConditionOperator.Lte,
        ["gt"] = ConditionOperator.Gt,
        ["gte"] = ConditionOperator.Gte,
        ["regex"] = ConditionOperator.Regex,
        ["contains"] = ConditionOperator.Contains,
        ["exists"] = ConditionOperator.Exists,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    internal static readonly FrozenDictionary<string, CounterScope> Scopes = new Dictionary<string, CounterScope>(StringComparer.Ordinal)
    {
        ["grant"] = CounterScope.Grant,
        ["session"] = CounterScope.Session,
        ["agent"] = CounterScope.Agent,
        ["user"] = CounterScope.User,
        ["global"] = CounterScope.Global,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    internal static readonly FrozenDictionary<string, RiskCategory> Categories = new Dictionary<string, RiskCategory>(StringComparer.Ordinal)
    {
        ["read"] = RiskCategory.Read,
        ["write"] = RiskCategory.Write,
        ["execute"] = RiskCategory.Execute,
        ["destructive"] = RiskCategory.Destructive,
        ["financial"] = RiskCategory.Financial,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    internal static readonly FrozenDictionary<string, TimeSpan> NamedWindows = new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
    {
        ["second"] = TimeSpan.FromSeconds(1),
        ["minute"] = TimeSpan.FromMinutes(1),
        ["hour"] = TimeSpan.FromHours(1),
        ["day"] = TimeSpan.FromDays(1),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    // The fields of each kind of object, in the order the reader indexes them (see ReadFields); the constants below are
    // their positions.
    private static readonly FieldList RootFieldList = new("$schema", "version", "revision", "default", "hide", "all_tools", "tools", "risk", "classify");
    private static readonly FieldList AllToolsFieldList = new("limits");
    private static readonly FieldList PredicateFieldList = new("conditions", "on_deny");
    private static readonly FieldList RuleFieldList = new("action", "reason", "require", "deny_if", "require_approval_if", "limits", "rate_limit");
    private const int RuleAction = 0, RuleReason = 1, RuleRequire = 2, RuleDenyIf = 3, RuleApprovalIf = 4, RuleLimits = 5, RuleRateLimit = 6;

    private static readonly FieldList ConditionFieldList = new("path", "op", "value", "reason");
    private const int ConditionPathField = 0, ConditionOp = 1, ConditionValue = 2, ConditionReason = 3;

    // A limit's budget fields come first, at the positions the rate_limit shorthand has them (see ReadBudget).
    private static readonly FieldList LimitFieldList = new("max", "window", "scope", "counter", "increment_from");
    private static readonly FieldList RateLimitFieldList = new("max", "window", "scope");
    private const int BudgetMax = 0, BudgetWindow = 1, BudgetScope = 2, LimitCounter = 3, LimitIncrementFrom = 4;

    /// <summary>Each operator's name as the document spells it, indexed by <see cref="ConditionOperator"/>.</summary>
    internal static readonly string[] OperatorNames = NamesOf(Operators);

    /// <summary>Past this many tools the reader sizes its tables from the document (see ExpectedCounts).</summary>
    private const int LargeTable = 2048;

    /// <summary>Strings up to this length are looked up among those already read without first being made into a string.</summary>
    private const int MaxSharedTextLength = 128;

    private static readonly LazyJsonPath HidePath = LazyJsonPath.Root.Property("hide");
    private static readonly LazyJsonPath AllToolsPath = LazyJsonPath.Root.Property("all_tools");
    private static readonly LazyJsonPath ToolsPath = LazyJsonPath.Root.Property("tools");
    private static readonly LazyJsonPath RiskPath = LazyJsonPath.Root.Property("risk");
    private static readonly LazyJsonPath ClassifyPath = LazyJsonPath.Root.Property("classify");

    public string Version => "1";

    public CompiledPolicy? Read(JsonElement root, PolicyErrorList errors, out DuplicateKeys.Outcome duplicateKeys)
    {
        var session = new Session(errors);
        try
        {
            var compiled = session.Read(root);
            duplicateKeys = session.DuplicateKeys;
            return compiled;
        }
        finally
        {
            session.ReturnPooled();
        }
    }

    /// <summary>The state of one read: errors, and the counters defined so far (to find one defined two ways).</summary>
    private sealed partial class Session(PolicyErrorList errors)
    {
        /// <summary>
        /// Whether an object read so far has a key twice. The reader sees every key of the format's own objects (a known
        /// field already filled, a tool name or category already read); condition values, free-form JSON, are looked at
        /// by <see cref="DuplicateKeys"/> once they are known to be kept.
        /// </summary>
        public DuplicateKeys.Outcome DuplicateKeys { get; private set; }

        /// <summary>Gives back what the read rented.</summary>
        public void ReturnPooled()
        {
            if (_definedAt.Length > 0)
            {
                System.Buffers.ArrayPool<PolicyPointer>.Shared.Return(_definedAt, clearArray: true);
                _definedAt = [];
            }
        }

        /// <summary>The errors found so far (the fast read declines on any).</summary>
        private PolicyErrorList Errors => errors;

        private void Found(DuplicateKeys.Outcome outcome) => DuplicateKeys = Policies.DuplicateKeys.Either(DuplicateKeys, outcome);

        /// <summary>Notes a tool name or glob written twice among an object's keys, as the name matcher built from them saw it.</summary>
        private void FoundIf(string? duplicateKey)
        {
            if (duplicateKey is not null)
            {
                Found(Policies.DuplicateKeys.Outcome.Found);
            }
        }

        // The counters by name and ordinal; sized once the document's size is known.
        private PolicyCounters _counters = new();

        // Whether the counters are the loaded policy's, looked up and never added to (a rule built on first match).
        private bool _countersFixed;

        // The pointer of the limit that defined each counter first, by the counter's ordinal (for the error of a counter
        // defined two ways). From the pool: the read throws it away, and at 10,000 counters it would be a large object.
        private PolicyPointer[] _definedAt = [];
        private CompiledLimit[] _allToolsLimits = [];

        // The conditions whose value is still the read document's, in reading order (see DetachValues); sized with the counters.
        private List<Condition> _valued = [];

        // The condition paths read so far, by text (valid ones only).
        private Dictionary<string, ConditionPath> _paths = new(StringComparer.Ordinal);

        // The condition values of the rules built after the load, by their text (see RuleSource); null while loading.
        private Dictionary<string, JsonElement>? _sharedValues;

        // The item readers as delegates, made once per read rather than once per list.
        private Func<JsonElement, LazyJsonPath, PolicyPointer, Predicate?>? _readPredicate;
        private Func<JsonElement, LazyJsonPath, PolicyPointer, Condition?>? _readCondition;
        private Func<JsonElement, LazyJsonPath, PolicyPointer, CompiledLimit?>? _readLimit;

        public CompiledPolicy? Read(JsonElement root)
        {
            CheckFields(root, LazyJsonPath.Root, RootFieldList);
            var (counters, valued) = ExpectedCounts(root);
            _counters = new(counters);
            _definedAt = System.Buffers.ArrayPool<PolicyPointer>.Shared.Rent(Math.Max(counters, 16));
            _valued = new(valued);

            var defaultAction = PolicyAction.Deny;
            if (root.TryGetProperty("default"u8, out var def))
            {
                defaultAction = ReadAction(def, LazyJsonPath.Root, "default") ?? PolicyAction.Deny;
            }

            if (root.TryGetProperty("$schema"u8, out var schema) && schema.ValueKind != JsonValueKind.String)
            {
                errors.AtValue("$.$schema", $"Expected a string (the schema's URL or path), found {Describe(schema)}.");
            }

            var revision = ReadRevision(root);
            var hide = root.TryGetProperty("hide"u8, out var hideSection) ? ReadHide(hideSection) : NameMatcher<bool>.Empty;
            var allToolsLimits = root.TryGetProperty("all_tools"u8, out var allTools) ? ReadAllTools(allTools) : [];
            var tools = root.TryGetProperty("tools"u8, out var toolsSection) ? ReadTools(toolsSection) : ToolRules.Empty;
            var risk = root.TryGetProperty("risk"u8, out var riskSection) ? ReadRisk(riskSection) : new CompiledRule?[Categories.Count];
            var classify = root.TryGetProperty("classify"u8, out var classifySection) ? ReadClassify(classifySection) : NameMatcher<ClassifyEntry>.Empty;

            if (errors.Count > 0)
            {
                return null;
            }

            DetachValues();
            return new CompiledPolicy
            {
                Version = "1",
                DeclaredRevision = revision,
                DefaultAction = defaultAction,
                Hide = hide,
                Tools = tools,
                RiskRules = risk,
                Classify = classify,
                AllToolsLimits = allToolsLimits,
                Counters = _counters,
            };
        }

        /// <summary>
        /// About as many counters and condition values as the document will define, so that their tables are made once at
        /// their size: a table that grows past a few thousand entries leaves large garbage arrays behind, and large
        /// objects start full collections. Small documents keep the defaults (nothing there is large).
        /// </summary>
        private static (int Counters, int Values) ExpectedCounts(JsonElement root)
        {
            var expected = 0;
            if (root.TryGetProperty("tools"u8, out var tools) && tools.ValueKind == JsonValueKind.Object)
            {
                expected += tools.GetPropertyCount();
            }

            if (root.TryGetProperty("all_tools"u8, out var allTools) && allTools.ValueKind == JsonValueKind.Object
                && allTools.TryGetProperty("limits"u8, out var limits) && limits.ValueKind == JsonValueKind.Array)
            {
                expected += limits.GetArrayLength();
            }

            if (expected <= LargeTable)
            {
                return (expected, 0);
            }

            // One counter per rule is the usual shape, but a policy of mostly empty rules defines far fewer: a counter
            // is defined by a "counter" or "rate_limit" field and a condition value is a "value" field, so the keys
            // written in the document bound them (bar escaped spellings, for which the tables simply grow).
            var utf8 = JsonMarshal.GetRawUtf8Value(root);
            var counters = Math.Min(expected, Occurrences(utf8, "\"counter\""u8) + Occurrences(utf8, "\"rate_limit\""u8));
            return (counters, Occurrences(utf8, "\"value\""u8));
        }

        /// <summary>How many times <paramref name="text"/> is written in <paramref name="utf8"/>.</summary>
        private static int Occurrences(ReadOnlySpan<byte> utf8, ReadOnlySpan<byte> text)
        {
            var count = 0;
            for (var at = utf8.IndexOf(text); at >= 0; at = utf8.IndexOf(text))
            {
                count++;
                utf8 = utf8[(at + text.Length)..];
            }

            return count;
        }

        private string? ReadRevision(JsonElement root)
        {
            if (!root.TryGetProperty("revision"u8, out var element))
            {
                return null;
            }

            var text = element.ValueKind == JsonValueKind.String ? element.GetString()! : null;
            if (text is null || !IsRevision(text))
            {
                errors.AtValue("$.revision", $"Expected the document's revision: a string of 1 to {MaxRevisionLength} characters without control characters or surrounding spaces (such as \"2026-11-29.1\" or a commit hash), found {Describe(element)}.");
                return null;
            }

            return text;
        }

        /// <summary>
        /// One call counts each counter once, so the limits one call can meet (a rule's and all_tools') must not name one
        /// counter with two different amounts: which amount would count is not something a reader of the policy can guess.
        /// </summary>
        private void CheckOneAmountPerCounter(CompiledLimit[] ruleLimits)
        {
            var allTools = ReferenceEquals(ruleLimits, _allToolsLimits) ? [] : _allToolsLimits;
            for (var i = 0; i < ruleLimits.Length; i++)
            {
                // Each pair once: at the later of two rule limits, or at the rule's limit against all_tools.
                foreach (var other in ruleLimits.AsSpan(0, i))
                {
                    Check(ruleLimits[i], other);
                }

                foreach (var other in allTools)
                {
                    Check(ruleLimits[i], other);
                }
            }

            void Check(CompiledLimit limit, CompiledLimit other)
            {
                if (ReferenceEquals(limit.Counter, other.Counter) && limit.IncrementFrom?.Text != other.IncrementFrom?.Text)
                {
                    errors.AtValue(
                        LimitPath(limit.Pointer),
                        $"Counter '{limit.Counter.Name}' is also counted by {other.Pointer} ({Adds(other)}), and one call counts a counter once: "
                        + $"here it is {Adds(limit)}. Give each amount a counter of its own, or use the same increment_from.");
                }
            }

            static string Adds(CompiledLimit limit) => limit.IncrementFrom is { } from ? "adding " + from.Text : "adding 1 per call";
        }

        private NameMatcher<bool> ReadHide(JsonElement hide)
        {
            if (!ExpectKind(hide, HidePath, JsonValueKind.Array, "an array of tool names or globs"))
            {
                return NameMatcher<bool>.Empty;
            }

            var entries = new KeyValuePair<string, bool>[hide.GetArrayLength()];
            var kept = 0;
            var index = 0;
            foreach (var item in hide.EnumerateArray())
            {
                var path = HidePath.Index(index++);
                if (item.ValueKind != JsonValueKind.String)
                {
                    errors.AtValue(path, $"Expected a tool name or glob (a string), found {Describe(item)}.");
                }
                else if (item.GetString() is not { } name || string.IsNullOrWhiteSpace(name))
                {
                    errors.AtValue(path, "Expected a tool name or glob, found an empty string. Use \"*\" to hide every tool.");
                }
                else
                {
                    entries[kept++] = new(name, true);
                }
            }

            return new NameMatcher<bool>(entries.AsSpan(0, kept));
        }

        /// <summary>The limits of <c>all_tools</c>, kept for the check of every rule's limits against them.</summary>
        private CompiledLimit[] ReadAllTools(JsonElement allTools)
        {
            if (!ExpectKind(allTools, AllToolsPath, JsonValueKind.Object, "an object with \"limits\""))
            {
                return [];
            }

            CheckFields(allTools, AllToolsPath, AllToolsFieldList);
            _allToolsLimits = allTools.TryGetProperty("limits"u8, out var limits)
                ? ReadLimits(limits, AllToolsPath, PolicyPointer.AllTools)
                : [];
            CheckOneAmountPerCounter(_allToolsLimits);
            return _allToolsLimits;
        }

        /// <summary>
        /// Adds the key of an empty rule (an exact name or a glob) as its characters, decoded from the document, when it is
        /// written without escapes and is not blank; false leaves the key to the string path.
        /// </summary>
        private static bool TryAddPlainName(JsonProperty property, NameMatcher<RuleSlot>.Builder rules)
        {
            var utf8 = JsonMarshal.GetRawUtf8PropertyName(property);
            if (utf8.IndexOf((byte)'\\') >= 0)
            {
                return false;
            }

            var chars = rules.Reserve(utf8.Length);
            var length = Encoding.UTF8.GetChars(utf8, chars);
            if (chars[..length].IsWhiteSpace())
            {
                return false;
            }

            rules.Add(length, default);
            return true;
        }

        private ToolRules ReadTools(JsonElement tools)
        {
            if (!ExpectKind(tools, ToolsPath, JsonValueKind.Object, "an object of rules keyed by tool name or glob"))
            {
                return ToolRules.Empty;
            }

            // The keys go straight into the matcher's arrays (from the pool, no garbage): the name or glob of an empty rule
            // as its characters alone, decoded from the document without becoming a string.
            var rules = new NameMatcher<RuleSlot>.Builder(tools.GetPropertyCount(), JsonMarshal.GetRawUtf8Value(tools).Length);
            var slot = ToolsPath.MemberSlot();
            foreach (var property in tools.EnumerateObject())
            {
                var value = property.Value;
                var empty = value.ValueKind == JsonValueKind.Object && value.GetPropertyCount() == 0;
                if (empty && TryAddPlainName(property, rules))
                {
                    continue;
                }

                var name = property.Name;
                var path = slot.At(name);
                if (string.IsNullOrWhiteSpace(name))
                {
                    errors.AtKey(path, "Expected a tool name or glob as the key, found an empty string.");
                    continue;
                }

                // An empty rule is kept as its key alone (ToolRules makes its rule when a call first matches it).
                if (empty)
                {
                    rules.Add(name, default);
                }
                else if (ReadRule(value, path, PolicyPointer.Tool(name)) is { } rule)
                {
                    rules.Add(name, new RuleSlot(rule));
                }
            }

            var matcher = new NameMatcher<RuleSlot>(rules);
            FoundIf(matcher.DuplicateKey);
            return new ToolRules(matcher);
        }

        private CompiledRule?[] ReadRisk(JsonElement risk)
        {
            var rules = new CompiledRule?[Categories.Count];
            if (!ExpectKind(risk, RiskPath, JsonValueKind.Object, "an object of rules keyed by risk category"))
            {
                return rules;
            }

            var seen = 0u;
            foreach (var property in risk.EnumerateObject())
            {
                var path = RiskPath.Property(property.Name);
                if (!Categories.TryGetValue(property.Name, out var category))
                {
                    errors.AtKey(path, $"Unknown risk category '{property.Name}'. Expected one of: {string.Join(", ", Categories.Keys.Order(StringComparer.Ordinal))}.");
                    continue;
                }

                if ((seen & (1u << (int)category)) != 0)
                {
                    Found(Policies.DuplicateKeys.Outcome.Found);
                }

                seen |= 1u << (int)category;

                rules[(int)category] = ReadRule(property.Value, path, PolicyPointer.Risk(property.Name));
            }

            return rules;
        }

        private NameMatcher<ClassifyEntry> ReadClassify(JsonElement classify)
        {
            if (!ExpectKind(classify, ClassifyPath, JsonValueKind.Object, "an object mapping tool names or globs to risk categories"))
            {
                return NameMatcher<ClassifyEntry>.Empty;
            }

            var entries = new KeyValuePair<string, ClassifyEntry>[classify.GetPropertyCount()];
            var kept = 0;
            foreach (var property in classify.EnumerateObject())
            {
                var name = property.Name;
                var path = ClassifyPath.Property(name);
                if (string.IsNullOrWhiteSpace(name))
                {
                    errors.AtKey(path, "Expected a tool name or glob as the key, found an empty string.");
                }
                else if (!TryKeyword(property.Value, Categories, out var category))
                {
                    errors.AtValue(path, $"Expected a risk category ({string.Join(", ", Categories.Keys.Order(StringComparer.Ordinal))}), found {Describe(property.Value)}.");
                }
                else
                {
                    entries[kept++] = new(name, new ClassifyEntry(category, "/classify/" + EscapePointer(name)));
                }
            }

            var matcher = new NameMatcher<ClassifyEntry>(entries.AsSpan(0, kept));
            FoundIf(matcher.DuplicateKey);
            return matcher;
        }

        private CompiledRule? ReadRule(JsonElement rule, LazyJsonPath path, PolicyPointer pointer)
        {
            if (!ExpectKind(rule, path, JsonValueKind.Object, "a rule object ({} allows the tool)"))
            {
                return null;
            }

            var before = errors.Count;
            var fields = ReadFields(rule, path, RuleFieldList);

            var action = PolicyAction.Allow;
            if (Has(fields[RuleAction]))
            {
                action = ReadAction(fields[RuleAction], path, "action") ?? PolicyAction.Allow;
            }

            string? reason = null;
            if (Has(fields[RuleReason]))
            {
                reason = ReadString(fields[RuleReason], path, "reason", "a reason (text shown to the agent)");
            }

            var require = ReadPredicates(fields[RuleRequire], "require", path, pointer);
            var denyIf = ReadPredicates(fields[RuleDenyIf], "deny_if", path, pointer);
            var approvalIf = ReadPredicates(fields[RuleApprovalIf], "require_approval_if", path, pointer);
            var limits = Has(fields[RuleLimits])
                ? ReadLimits(fields[RuleLimits], path, pointer)
                : [];

            if (fields[RuleRateLimit] is var rateLimit && Has(rateLimit))
            {
                var shorthand = ReadRateLimit(rateLimit, path.Property("rate_limit"), pointer.FieldOf("rate_limit"));
                if (shorthand is not null)
                {
                    limits = [.. limits, shorthand];
                }
            }

            CheckOneAmountPerCounter(limits);

            if (action == PolicyAction.Deny && (Has(fields[RuleLimits]) || Has(fields[RuleRateLimit])))
            {
                errors.AtKey(
                    path.Property(Has(fields[RuleLimits]) ? "limits" : "rate_limit"),
                    "A rule whose action is \"deny\" cannot have limits: a denied call never counts. Remove the limits or change the action.");
            }

            if (errors.Count > before)
            {
                return null;
            }

            return new CompiledRule
            {
                PointerParts = pointer,
                Action = action,
                Reason = reason,
                Require = require,
                DenyIf = denyIf,
                RequireApprovalIf = approvalIf,
                Limits = limits,
            };
        }

        /// <summary>The predicates of the rule's field <paramref name="field"/>, whose value is <paramref name="list"/> (undefined when the rule has none).</summary>
        private Predicate[] ReadPredicates(JsonElement list, string field, LazyJsonPath rulePath, PolicyPointer rulePointer)
        {
            if (!Has(list))
            {
                return [];
            }

            if (!ExpectKind(list, rulePath, field, JsonValueKind.Array, "an array of conditions or predicates ({ \"conditions\": [...], \"on_deny\": \"...\" })"))
            {
                return [];
            }

            return ReadEach(list, rulePath, rulePointer, field, _readPredicate ??= ReadPredicate);
        }

        /// <summary>
        /// Reads each item of the array <paramref name="field"/> of the object at <paramref name="ownerPath"/> with its
        /// JSON path (<c>$.tools.x.deny_if[0]</c>) and pointer (<c>/tools/x/deny_if/0</c>), keeping those that read without errors.
        /// </summary>
        private static T[] ReadEach<T>(JsonElement list, LazyJsonPath ownerPath, PolicyPointer ownerPointer, string field, Func<JsonElement, LazyJsonPath, PolicyPointer, T?> read)
            where T : class
        {
            var items = new T[list.GetArrayLength()];
            var kept = 0;
            var index = 0;
            foreach (var item in list.EnumerateArray())
            {
                if (read(item, ownerPath.Item(field, index), ownerPointer.Item(field, index)) is { } value)
                {
                    items[kept++] = value;
                }

                index++;
            }

            return kept == items.Length ? items : items[..kept];
        }

        /// <summary>The hosted shape (an object with "conditions"), or a bare condition read as a one-condition predicate.</summary>
        private Predicate? ReadPredicate(JsonElement element, LazyJsonPath path, PolicyPointer pointer)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("conditions"u8, out var list))
            {
                var bare = ReadCondition(element, path, pointer);
                return bare is null ? null : new Predicate { PointerParts = pointer, Conditions = [bare], Reason = bare.Reason };
            }

            var before = errors.Count;
            CheckFields(element, path, PredicateFieldList);
            string? onDeny = null;
            if (element.TryGetProperty("on_deny"u8, out var onDenyElement))
            {
                onDeny = ReadString(onDenyElement, path, "on_deny", "the text the agent reads");
            }

            var conditions = ExpectKind(list, path, "conditions", JsonValueKind.Array, "an array of conditions ([] matches every call)")
                ? ReadEach(list, path, pointer, "conditions", _readCondition ??= ReadCondition)
                : [];

            if (errors.Count > before)
            {
                return null;
            }

            return new Predicate
            {
                PointerParts = pointer,
                Conditions = conditions,
                Reason = onDeny,
            };
        }

        private Condition? ReadCondition(JsonElement element, LazyJsonPath path, PolicyPointer pointer)
        {
            if (!ExpectKind(element, path, JsonValueKind.Object, "a condition object with \"path\" and \"op\""))
            {
                return null;
            }

            var before = errors.Count;
            var fields = ReadFields(element, path, ConditionFieldList);
            var conditionPath = ReadConditionPath(fields[ConditionPathField], path);

            ConditionOperator? op = null;
            var opName = "";
            var opElement = fields[ConditionOp];
            if (!Has(opElement))
            {
                errors.AtValue(path, $"Missing \"op\". Expected one of: {OperatorList}.");
            }
            else if (!TryKeyword(opElement, Operators, out var parsed))
            {
                errors.AtValue(path.Property("op"), $"Unknown operator {Describe(opElement)}. Expected one of: {OperatorList}.");
            }
            else
            {
                op = parsed;
                opName = OperatorNames[(int)parsed];
            }

            string? reason = null;
            if (Has(fields[ConditionReason]))
            {
                reason = ReadString(fields[ConditionReason], path, "reason", "a reason (text shown to the agent)");
            }

            var value = fields[ConditionValue];
            var hasValue = Has(value);
            Regex? regex = null;
            var existsExpected = true;
            switch (op)
            {
                case null:
                    break;
                case ConditionOperator.Exists:
                    if (hasValue)
                    {
                        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                        {
                            existsExpected = value.GetBoolean();
                        }
                        else
                        {
                            errors.AtValue(path.Property("value"), $"Operator \"exists\" takes no value, or true / false; found {Describe(value)}.");
                        }
                    }

                    break;
                case ConditionOperator.In or ConditionOperator.NotIn:
                    if (!hasValue)
                    {
                        errors.AtValue(path, $"Operator \"{opName}\" needs \"value\": a list of values.");
                    }
                    else if (value.ValueKind != JsonValueKind.Array)
                    {
                        errors.AtValue(path.Property("value"), $"Operator \"{opName}\" needs a list of values, found {Describe(value)}.");
                    }

                    break;
                case ConditionOperator.Lt or ConditionOperator.Lte or ConditionOperator.Gt or ConditionOperator.Gte:
                    if (conditionPath is { IsCaller: true })
                    {
                        errors.AtValue(path.Property("op"), $"Operator \"{opName}\" compares numbers, and {conditionPath.Text} is text. Use eq, neq, in, not_in, regex, contains or exists.");
                    }
                    else if (!hasValue)
                    {
                        errors.AtValue(path, $"Operator \"{opName}\" needs \"value\": a number.");
                    }
                    else if (value.ValueKind != JsonValueKind.Number)
                    {
                        errors.AtValue(path.Property("value"), $"Operator \"{opName}\" compares numbers, found {Describe(value)}.");
                    }

                    break;
                case ConditionOperator.Regex:
                    if (!hasValue || value.ValueKind != JsonValueKind.String)
                    {
                        errors.AtValue(hasValue ? path.Property("value") : path, $"Operator \"regex\" needs \"value\": a regular expression (a string){(hasValue ? ", found " + Describe(value) : "")}.");
                    }
                    else
                    {
                        regex = CompileRegex(value.GetString()!, path.Property("value"));
                    }

                    break;
                default:
                    if (!hasValue)
                    {
                        errors.AtValue(path, $"Operator \"{opName}\" needs \"value\".");
                    }

                    break;
            }

            if (errors.Count > before || conditionPath is null || op is null)
            {
                return null;
            }

            var condition = new Condition
            {
                PointerParts = pointer,
                Path = conditionPath,
                Operator = op.Value,
                // Still the read document's value: DetachValues copies it out before the document goes.
                Value = hasValue ? value : default,
                Regex = regex,
                ExistsExpected = existsExpected,
                Reason = reason,
            };
            if (hasValue)
            {
                _valued.Add(condition);
            }

            return condition;
        }

        /// <summary>
        /// Copies every condition's value out of the document being read (whose pooled memory is returned after the
        /// load) into one array document of the policy's own, instead of a cloned document per value. A value written
        /// the same way by many conditions (the same <c>in</c> list in every rule) is copied once and shared.
        /// </summary>
        private void DetachValues()
        {
            if (_valued.Count == 0)
            {
                return;
            }

            if (_sharedValues is { } shared)
            {
                // A rule built after the load: its values join those of the rules built before it.
                foreach (var condition in _valued)
                {
                    var raw = JsonMarshal.GetRawUtf8Value(condition.Value);
                    var text = Encoding.UTF8.GetString(raw);
                    if (!shared.TryGetValue(text, out var copy))
                    {
                        var reader = new Utf8JsonReader(raw, new JsonReaderOptions { MaxDepth = PolicyLimits.MaxDepth });
                        copy = shared[text] = JsonElement.ParseValue(ref reader);
                    }

                    condition.Value = copy;
                }

                _valued.Clear();
                return;
            }

            // Each condition's index among the distinct values; the distinct ones by the hash of their raw text.
            // From the pool: at 100,000 conditions this array would be a large object.
            var distinctOf = System.Buffers.ArrayPool<int>.Shared.Rent(_valued.Count);
            var firstByHash = new Dictionary<int, int>();
            var distinct = new List<int>();
            var length = 1;
            for (var i = 0; i < _valued.Count; i++)
            {
                var raw = JsonMarshal.GetRawUtf8Value(_valued[i].Value);
                var hash = default(HashCode);
                hash.AddBytes(raw);
                var key = hash.ToHashCode();
                if (firstByHash.TryGetValue(key, out var known) && raw.SequenceEqual(JsonMarshal.GetRawUtf8Value(_valued[distinct[known]].Value)))
                {
                    distinctOf[i] = known;
                    continue;
                }

                // A new value (or one whose hash another value has: then it is simply not shared). Free-form JSON, so
                // its keys are looked at here; a value written twice the same way is looked at once.
                if (_valued[i].Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
                {
                    Found(Policies.DuplicateKeys.Find(_valued[i].Value, raw));
                }

                firstByHash.TryAdd(key, distinct.Count);
                distinctOf[i] = distinct.Count;
                distinct.Add(i);
                length += raw.Length + 1;
            }

            var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
            try
            {
                // [v1,v2,...]: each distinct value's raw text as written; ParseValue copies what it keeps.
                var written = 0;
                foreach (var index in distinct)
                {
                    rented[written] = written == 0 ? (byte)'[' : (byte)',';
                    written++;
                    var raw = JsonMarshal.GetRawUtf8Value(_valued[index].Value);
                    raw.CopyTo(rented.AsSpan(written));
                    written += raw.Length;
                }

                rented[written++] = (byte)']';
                var reader = new Utf8JsonReader(rented.AsSpan(0, written), new JsonReaderOptions { MaxDepth = PolicyLimits.MaxDepth + 1 });
                var values = JsonElement.ParseValue(ref reader);
                var copies = new JsonElement[distinct.Count];
                var at = 0;
                foreach (var value in values.EnumerateArray())
                {
                    copies[at++] = value;
                }

                for (var i = 0; i < _valued.Count; i++)
                {
                    _valued[i].Value = copies[distinctOf[i]];
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
                System.Buffers.ArrayPool<int>.Shared.Return(distinctOf);
            }
        }

        /// <summary>The <c>limits</c> of the rule (or all_tools) at <paramref name="ownerPointer"/>.</summary>
        private CompiledLimit[] ReadLimits(JsonElement list, LazyJsonPath ownerPath, PolicyPointer ownerPointer)
        {
            if (!ExpectKind(list, ownerPath, "limits", JsonValueKind.Array, "an array of limits"))
            {
                return [];
            }

            return ReadEach(list, ownerPath, ownerPointer, "limits", _readLimit ??= ReadLimit);
        }

        private CompiledLimit? ReadLimit(JsonElement element, LazyJsonPath path, PolicyPointer pointer)
        {
            if (!ExpectKind(element, path, JsonValueKind.Object, "a limit object with \"counter\", \"window\" and \"max\""))
            {
                return null;
            }

            var before = errors.Count;
            var fields = ReadFields(element, path, LimitFieldList);
            string? name = null;
            var counter = fields[LimitCounter];
            if (!Has(counter))
            {
                errors.AtValue(path, "Missing \"counter\": the name of the counter this limit counts in.");
            }
            else
            {
                name = ReadCounterName(counter, path);
                if (name is { Length: 0 })
                {
                    errors.AtValue(path.Property("counter"), "Expected a counter name, found an empty string.");
                }
                else if (name is ['/', ..])
                {
                    // The rate_limit shorthand names its counter after its JSON Pointer; a named counter can never share it.
                    errors.AtValue(path.Property("counter"), $"Counter names starting with '/' are reserved for the counters of rate_limit shorthands (such as {name}); choose another name.");
                }
            }

            // As in the hosted gateway, whose limits are per-grant quotas: a limit without a scope counts per grant.
            var (max, window, scope) = ReadBudget(fields, path, CounterScope.Grant);
            ArgumentPath? incrementFrom = null;
            if (Has(fields[LimitIncrementFrom]))
            {
                incrementFrom = RequireArgumentPath(fields[LimitIncrementFrom], "increment_from", path);
            }

            if (errors.Count > before || name is null)
            {
                return null;
            }

            var definition = DefineCounter(name, max, window, scope, path, pointer, incrementFrom?.Text);
            return definition is null ? null : new CompiledLimit { PointerParts = pointer, Counter = definition, IncrementFrom = incrementFrom };
        }

        private CompiledLimit? ReadRateLimit(JsonElement element, LazyJsonPath path, PolicyPointer pointer)
        {
            if (!ExpectKind(element, path, JsonValueKind.Object, "an object such as { \"max\": 10, \"window\": 60 }"))
            {
                return null;
            }

            var before = errors.Count;
            var fields = ReadFields(element, path, RateLimitFieldList);

            // The shorthand keeps the hosted product's per-session meaning.
            var (max, window, scope) = ReadBudget(fields, path, CounterScope.Session);
            if (errors.Count > before)
            {
                return null;
            }

            // The shorthand's counter belongs to its rule alone: named after the rule's pointer, which no policy key can clash with.
            var definition = DefineCounter(pointer.Text, max, window, scope, path, pointer);
            return definition is null ? null : new CompiledLimit { Pointer = definition.Name, Counter = definition };
        }

        /// <summary>A limit's counter name: the string of a counter already defined when it names one (a counter named by many rules is one string).</summary>
        private string? ReadCounterName(JsonElement element, LazyJsonPath limitPath)
        {
            Span<char> buffer = stackalloc char[MaxSharedTextLength];
            var length = DecodePlain(element, buffer);
            if (length >= 0 && _counters.IndexOf(buffer[..length]) is >= 0 and var known)
            {
                return _counters[known].Name;
            }

            return ReadString(element, limitPath, "counter", "a counter name");
        }

        /// <summary>The max, window and scope of the limit or rate_limit at <paramref name="path"/>, from its fields.</summary>
        private (long Max, TimeSpan Window, CounterScope Scope) ReadBudget(in ObjectFields fields, LazyJsonPath path, CounterScope defaultScope)
        {
            long max = 1;
            var maxElement = fields[BudgetMax];
            if (!Has(maxElement))
            {
                errors.AtValue(path, "Missing \"max\": the most units the window may hold (a positive whole number).");
            }
            else if (maxElement.ValueKind != JsonValueKind.Number || !maxElement.TryGetInt64(out max) || max < 1 || max > PolicyLimits.MaxUnits)
            {
                errors.AtValue(path.Property("max"), $"Expected a positive whole number no larger than {PolicyLimits.MaxUnits}, found {Describe(maxElement)}.");
            }

            var window = TimeSpan.FromMinutes(1);
            var windowElement = fields[BudgetWindow];
            if (!Has(windowElement))
            {
                errors.AtValue(path, "Missing \"window\": second, minute, hour, day, a number of seconds, or a duration such as \"90s\", \"5m\", \"1h\", \"1d\".");
            }
            else
            {
                window = ReadWindow(windowElement, path) ?? window;
            }

            var scope = defaultScope;
            var scopeElement = fields[BudgetScope];
            if (Has(scopeElement))
            {
                if (!TryKeyword(scopeElement, Scopes, out scope))
                {
                    errors.AtValue(path.Property("scope"), $"Unknown scope {Describe(scopeElement)}. Expected one of: grant, session, agent, user, global.");
                }
            }

            return (max, window, scope);
        }

        /// <summary>The <c>window</c> of the limit at <paramref name="limitPath"/>.</summary>
        private TimeSpan? ReadWindow(JsonElement element, LazyJsonPath limitPath)
        {
            TimeSpan? window = null;
            if (TryKeyword(element, NamedWindows, out var named))
            {
                return named;
            }

            if (element.ValueKind == JsonValueKind.Number)
            {
                if (element.TryGetInt64(out var seconds) && seconds > 0 && seconds <= (long)PolicyLimits.MaxWindow.TotalSeconds)
                {
                    window = TimeSpan.FromSeconds(seconds);
                }
            }
            else if (element.ValueKind == JsonValueKind.String)
            {
                window = ParseWindow(element.GetString()!);
            }

            if (window is null || window <= TimeSpan.Zero || window > PolicyLimits.MaxWindow)
            {
                errors.AtValue(limitPath.Property("window"), $"Unknown window {Describe(element)}. Expected second, minute, hour, day, a whole number of seconds, or a duration such as \"90s\", \"5m\", \"1h\", \"1d\" (at most 366 days).");
                return null;
            }

            return window;
        }

        internal static TimeSpan? ParseWindow(string text)
        {
            if (NamedWindows.TryGetValue(text, out var named))
            {
                return named;
            }

            if (text.Length < 2)
            {
                return null;
            }

            var unit = text[^1];
            if (!long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
                || count <= 0 || count > 366L * 24 * 3600)
            {
                return null;
            }

            return unit switch
            {
                's' => TimeSpan.FromSeconds(count),
                'm' => TimeSpan.FromMinutes(count),
                'h' => TimeSpan.FromHours(count),
                'd' => TimeSpan.FromDays(count),
                _ => null,
            };
        }

        /// <summary>The counter <paramref name="name"/>, defined here by the limit at <paramref name="path"/> (<paramref name="pointer"/>) or before.</summary>
        private CounterDefinition? DefineCounter(string name, long max, TimeSpan window, CounterScope scope, LazyJsonPath path, PolicyPointer pointer, string? incrementFrom = null) =>
            DefineCounterOrdinal(name, max, window, scope, path, pointer, incrementFrom) is >= 0 and var ordinal ? _counters[ordinal] : null;

        /// <summary>
        /// The ordinal of the counter <paramref name="name"/> with this budget: defined here when it is new, else the one
        /// defined before, which must have the same budget (-1 and an error otherwise). The definition itself is made when
        /// it is first asked for (see <see cref="PolicyCounters"/>).
        /// </summary>
        private int DefineCounterOrdinal(ReadOnlySpan<char> name, long max, TimeSpan window, CounterScope scope, LazyJsonPath path, PolicyPointer pointer, string? incrementFrom = null)
        {
            if (_countersFixed)
            {
                // A rule built after the load names the counters the load defined, never a new one.
                if (_counters.IndexOf(name) is >= 0 and var defined && _counters.HasBudget(defined, max, window, scope))
                {
                    return defined;
                }

                errors.AtValue(path, $"Counter '{name}' is not the one the policy defined when it loaded.");
                return -1;
            }

            var ordinal = _counters.GetOrAdd(name, max, window, scope, incrementFrom, out var added);
            if (!added)
            {
                if (!_counters.HasBudget(ordinal, max, window, scope))
                {
                    var d = _counters.BudgetOf(ordinal);
                    errors.AtValue(path, $"Counter '{name}' is defined two ways: here {max} per {Format(window)} per {scope.Name()}, at {LimitPath(_definedAt[ordinal].Text)} {d.Max} per {Format(d.Window)} per {d.Scope.Name()}. A counter has one window, max and scope wherever it is named.");
                    return -1;
                }

                return ordinal;
            }

            if (ordinal == _definedAt.Length)
            {
                var larger = System.Buffers.ArrayPool<PolicyPointer>.Shared.Rent(_definedAt.Length * 2);
                _definedAt.CopyTo(larger, 0);
                System.Buffers.ArrayPool<PolicyPointer>.Shared.Return(_definedAt, clearArray: true);
                _definedAt = larger;
            }

            _definedAt[ordinal] = pointer;
            return ordinal;
        }

        /// <summary>
        /// Regular expressions run in linear time (<see cref="RegexOptions.NonBacktracking"/>): a pattern that needs
        /// backtracking (backreferences, lookarounds, atomic groups, conditionals) is a load error, never a slow match.
        /// </summary>
        private Regex? CompileRegex(string pattern, LazyJsonPath valuePath)
        {
            try
            {
                return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, PolicyLimits.RegexTimeout);
            }
            catch (NotSupportedException ex)
            {
                errors.AtValue(
                    valuePath,
                    "The regular expression uses a construct that linear-time matching cannot run (backreferences, lookarounds, atomic groups and conditionals are not supported, "
                    + "so that no argument can make matching slow): " + ex.Message);
            }
            catch (ArgumentException ex)
            {
                errors.AtValue(valuePath, "The regular expression does not compile: " + ex.Message);
            }

            return null;
        }

        /// <summary>The condition's <c>path</c>, whose value is <paramref name="value"/> (undefined when it has none).</summary>
        private ConditionPath? ReadConditionPath(JsonElement value, LazyJsonPath path)
        {
            const string CallerPaths = "or caller.grant, caller.user, caller.agent, caller.session, caller.claims.<type>";
            if (!TryReadPathText(value, "path", path, CallerPaths))
            {
                return null;
            }

            // One object per distinct path: rules that test the same argument share it (it is immutable).
            Span<char> buffer = stackalloc char[MaxSharedTextLength];
            var length = DecodePlain(value, buffer);
            if (length >= 0 && _paths.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(buffer[..length], out var known))
            {
                return known;
            }

            var text = value.GetString()!;
            ConditionPath? read;
            if (text.StartsWith("caller.", StringComparison.Ordinal))
            {
                read = ConditionPath.ForCaller(text);
                if (read is null)
                {
                    errors.AtValue(
                        path.Property("path"),
                        $"Unknown caller path \"{text}\". Expected caller.grant, caller.user, caller.agent, caller.session or caller.claims.<type>.");
                }
            }
            else
            {
                var argument = ParseArgumentPath(text, path, "path", CallerPaths);
                read = argument is null ? null : ConditionPath.ForArguments(argument);
            }

            if (read is not null)
            {
                _paths[text] = read;
            }

            return read;
        }

        private ArgumentPath? RequireArgumentPath(JsonElement value, string field, LazyJsonPath path)
        {
            if (!TryReadPathText(value, field, path, null))
            {
                return null;
            }

            Span<char> buffer = stackalloc char[MaxSharedTextLength];
            var length = DecodePlain(value, buffer);
            if (length >= 0 && _paths.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(buffer[..length], out var known) && known.Argument is { } shared)
            {
                return shared;
            }

            var text = value.GetString()!;
            var argument = ParseArgumentPath(text, path, field, null);
            if (argument is not null)
            {
                _paths[text] = ConditionPath.ForArguments(argument);
            }

            return argument;
        }

        /// <summary>Whether <paramref name="value"/>, of the field <paramref name="field"/> of the object at <paramref name="path"/>, is there and a string.</summary>
        private bool TryReadPathText(JsonElement value, string field, LazyJsonPath path, string? alternatives)
        {
            if (!Has(value))
            {
                errors.AtValue(path, $"Missing \"{field}\": a path into the call's arguments such as \"args.amount\"{(alternatives is null ? "" : ", " + alternatives)}.");
                return false;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                errors.AtValue(path.Property(field), $"Expected a path into the call's arguments such as \"args.amount\"{(alternatives is null ? "" : ", " + alternatives)}, found {Describe(value)}.");
                return false;
            }

            return true;
        }

        /// <summary><paramref name="text"/>, the value of <paramref name="field"/> at <paramref name="path"/>, as a path into the arguments.</summary>
        private ArgumentPath? ParseArgumentPath(string text, LazyJsonPath path, string field, string? alternatives)
        {
            if (!text.StartsWith("args.", StringComparison.Ordinal) || text.Length == 5)
            {
                errors.AtValue(path.Property(field), $"The path \"{text}\" must start with \"args.\" followed by an argument name, such as \"args.amount\"{(alternatives is null ? "" : ", " + alternatives)}.");
                return null;
            }

            if (SplitArgumentPath(text) is not { } segments)
            {
                errors.AtValue(path.Property(field), $"The path \"{text}\" has an empty segment; use dots only between names, such as \"args.customer.id\".");
                return null;
            }

            return new ArgumentPath(text, segments);
        }

        private PolicyAction? ReadAction(JsonElement element, LazyJsonPath parent, string field)
        {
            if (TryKeyword(element, Actions, out var action))
            {
                return action;
            }

            errors.AtValue(parent.Property(field), $"Unknown action {Describe(element)}. Expected one of: allow, deny, require_approval.");
            return null;
        }

        /// <summary>The string <paramref name="field"/> of the object at <paramref name="parent"/>.</summary>
        private string? ReadString(JsonElement element, LazyJsonPath parent, string field, string expected)
        {
            if (element.ValueKind == JsonValueKind.String)
            {
                return element.GetString();
            }

            errors.AtValue(parent.Property(field), $"Expected {expected} (a string), found {Describe(element)}.");
            return null;
        }

        /// <summary>Whether the field <paramref name="field"/> of the object at <paramref name="parent"/> is of <paramref name="kind"/>; its path is made only for the error.</summary>
        private bool ExpectKind(JsonElement element, LazyJsonPath parent, string field, JsonValueKind kind, string expected)
        {
            if (element.ValueKind == kind)
            {
                return true;
            }

            errors.AtValue(parent.Property(field), $"Expected {expected}, found {Describe(element)}.");
            return false;
        }

        private bool ExpectKind(JsonElement element, LazyJsonPath path, JsonValueKind kind, string expected)
        {
            if (element.ValueKind == kind)
            {
                return true;
            }

            errors.AtValue(path, $"Expected {expected}, found {Describe(element)}.");
            return false;
        }

        /// <summary>
        /// The known fields of the object at <paramref name="path"/> by their position in <paramref name="known"/>, found
        /// in one pass that reports every unknown field (as <see cref="CheckFields"/> does).
        /// </summary>
        private ObjectFields ReadFields(JsonElement element, LazyJsonPath path, FieldList known)
        {
            System.Diagnostics.Debug.Assert(known.Count <= ObjectFields.MaxFields, "An object read into ObjectFields has at most its number of fields.");
            var fields = default(ObjectFields);
            foreach (var property in element.EnumerateObject())
            {
                var index = known.IndexOf(property);
                if (index >= 0)
                {
                    if (Has(fields[index]))
                    {
                        Found(Policies.DuplicateKeys.Outcome.Found);
                    }

                    fields[index] = property.Value;
                }
                else
                {
                    ReportUnknownField(property, path, known.Known);
                }
            }

            return fields;
        }

        private void ReportUnknownField(JsonProperty property, LazyJsonPath path, FrozenSet<string> known)
        {
            var suggestion = Suggest(property.Name, known);
            errors.AtKey(
                path.Property(property.Name),
                $"Unknown field '{property.Name}'{(suggestion is null ? "" : $" (did you mean '{suggestion}'?)")}. Expected one of: {string.Join(", ", known.Order(StringComparer.Ordinal))}.");
        }

        /// <summary>Whether a field read by <see cref="ReadFields"/> is there.</summary>
        private static bool Has(JsonElement value) => value.ValueKind != JsonValueKind.Undefined;

        /// <summary>Reports each unknown field of the object at <paramref name="path"/>, and notes a known field written twice.</summary>
        private void CheckFields(JsonElement element, LazyJsonPath path, FieldList known)
        {
            var seen = 0u;
            foreach (var property in element.EnumerateObject())
            {
                var index = known.IndexOf(property);
                if (index < 0)
                {
                    ReportUnknownField(property, path, known.Known);
                    continue;
                }

                if ((seen & (1u << index)) != 0)
                {
                    Found(Policies.DuplicateKeys.Outcome.Found);
                }

                seen |= 1u << index;
            }
        }

        private static string OperatorList => string.Join(", ", Operators.Keys.Order(StringComparer.Ordinal));

    }

    private static string[] NamesOf(FrozenDictionary<string, ConditionOperator> operators)
    {
        var names = new string[operators.Count];
        foreach (var (name, op) in operators)
        {
            names[(int)op] = name;
        }

        return names;
    }

    /// <summary>
    /// Decodes a JSON string with no escapes into <paramref name="buffer"/> and gives its length, without making a
    /// string; -1 when the value is not a string, has escapes or does not fit (the caller then reads it with GetString).
    /// </summary>
    private static int DecodePlain(JsonElement element, Span<char> buffer)
    {
        if (element.ValueKind != JsonValueKind.String)
        {
            return -1;
        }

        var utf8 = JsonMarshal.GetRawUtf8Value(element);
        if (utf8.Length >= 2 && utf8[0] == (byte)'"')
        {
            utf8 = utf8[1..^1];
        }

        // A UTF-8 text never has more characters than bytes.
        if (utf8.Length > buffer.Length || utf8.Contains((byte)'\\'))
        {
            return -1;
        }

        return Encoding.UTF8.GetChars(utf8, buffer);
    }

    /// <summary>The keyword (an action, operator, scope, window or category) that a JSON string spells, found without making a string of it.</summary>
    private static bool TryKeyword<T>(JsonElement element, FrozenDictionary<string, T> keywords, out T value)
    {
        value = default!;
        if (element.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        Span<char> buffer = stackalloc char[MaxSharedTextLength];
        var length = DecodePlain(element, buffer);
        return length >= 0
            ? keywords.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(buffer[..length], out value!)
            : keywords.TryGetValue(element.GetString()!, out value!);
    }

    /// <summary>The segments of <c>args.a.b</c> after <c>args.</c>; null when one is empty.</summary>
    private static string[]? SplitArgumentPath(string text)
    {
        var rest = text.AsSpan(5);
        var segments = new string[rest.Count('.') + 1];
        var start = 5;
        for (var i = 0; i < segments.Length; i++)
        {
            var end = text.IndexOf('.', start);
            if (end < 0)
            {
                end = text.Length;
            }

            if (end == start)
            {
                return null;
            }

            segments[i] = text[start..end];
            start = end + 1;
        }

        return segments;
    }

    /// <summary>
    /// The JSON path of the limit whose pointer is <paramref name="pointer"/>: <c>/tools/x/limits/0</c> is
    /// <c>$.tools.x.limits[0]</c> and <c>/tools/x/rate_limit</c> is <c>$.tools.x.rate_limit</c>. Limits keep their
    /// pointer only; the path is made from it when an error names it.
    /// </summary>
    internal static LazyJsonPath LimitPath(string pointer)
    {
        var path = LazyJsonPath.Root;
        var segments = pointer.Split('/');
        for (var i = 1; i < segments.Length; i++)
        {
            // Every segment names a property but the last of a limits list's pointer, its index.
            path = i == segments.Length - 1 && segments[i] != "rate_limit"
                ? path.Index(int.Parse(segments[i], NumberStyles.None, CultureInfo.InvariantCulture))
                : path.Property(segments[i].Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal));
        }

        return path;
    }

    internal static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Truncate(element.GetString()!)}\"",
        JsonValueKind.Number => $"the number {Truncate(element.GetRawText())}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {element.GetRawText()}",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "nothing",
    };

    internal static string Format(TimeSpan window) =>
        window.TotalDays >= 1 && window.TotalDays == Math.Floor(window.TotalDays) ? $"{window.TotalDays:0} d"
        : window.TotalHours >= 1 && window.TotalHours == Math.Floor(window.TotalHours) ? $"{window.TotalHours:0} h"
        : window.TotalMinutes >= 1 && window.TotalMinutes == Math.Floor(window.TotalMinutes) ? $"{window.TotalMinutes:0} min"
        : $"{window.TotalSeconds:0.###} s";

    internal static string EscapePointer(string key) =>
        key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static string Truncate(string text) => text.Length <= 60 ? text : text[..57] + "...";

    /// <summary>The known field nearest to a typo (edit distance at most 2), such as <c>limits</c> for <c>limts</c>.</summary>
    private static string? Suggest(string unknown, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = 3;
        foreach (var candidate in known)
        {
            var distance = EditDistance(unknown, candidate);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return best;
    }

    private static int EditDistance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 2 || a.Length > 64 || b.Length > 64)
        {
            return int.MaxValue;
        }

        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
