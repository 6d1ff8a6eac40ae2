using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PolicyLayer.Policies;

/// <summary>Reads policy documents of version "1" (the hosted PolicyLayer gateway's format plus optional additions).</summary>
internal sealed class PolicyReaderV1 : IPolicyReader
{
    internal static readonly FrozenSet<string> RootFields = FrozenSet.Create(StringComparer.Ordinal,
        "$schema", "version", "revision", "default", "hide", "all_tools", "tools", "risk", "classify");

    internal static readonly FrozenSet<string> RuleFields = FrozenSet.Create(StringComparer.Ordinal,
        "action", "reason", "require", "deny_if", "require_approval_if", "limits", "rate_limit");

    internal static readonly FrozenSet<string> AllToolsFields = FrozenSet.Create(StringComparer.Ordinal, "limits");

    internal static readonly FrozenSet<string> ConditionFields = FrozenSet.Create(StringComparer.Ordinal, "path", "op", "value", "reason");

    /// <summary>The fields of a predicate in the hosted shape.</summary>
    internal static readonly FrozenSet<string> PredicateFields = FrozenSet.Create(StringComparer.Ordinal, "conditions", "on_deny");

    /// <summary>The longest declared <c>revision</c> accepted.</summary>
    internal const int MaxRevisionLength = 64;

    internal static readonly FrozenSet<string> LimitFields = FrozenSet.Create(StringComparer.Ordinal,
        "counter", "window", "max", "scope", "increment_from");

    internal static readonly FrozenSet<string> RateLimitFields = FrozenSet.Create(StringComparer.Ordinal, "max", "window", "scope");

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

    private static readonly LazyJsonPath HidePath = LazyJsonPath.Root.Property("hide");
    private static readonly LazyJsonPath AllToolsPath = LazyJsonPath.Root.Property("all_tools");
    private static readonly LazyJsonPath ToolsPath = LazyJsonPath.Root.Property("tools");
    private static readonly LazyJsonPath RiskPath = LazyJsonPath.Root.Property("risk");
    private static readonly LazyJsonPath ClassifyPath = LazyJsonPath.Root.Property("classify");

    public string Version => "1";

    public CompiledPolicy? Read(JsonElement root, PolicyErrorList errors) => new Session(errors).Read(root);

    /// <summary>The state of one read: errors, and the counters defined so far (to find one defined two ways).</summary>
    private sealed class Session(PolicyErrorList errors)
    {
        private readonly Dictionary<string, (CounterDefinition Definition, LazyJsonPath Path)> _counters = new(StringComparer.Ordinal);
        private CompiledLimit[] _allToolsLimits = [];
        private readonly Dictionary<CompiledLimit, LazyJsonPath> _limitPaths = new(ReferenceEqualityComparer.Instance);

        public CompiledPolicy? Read(JsonElement root)
        {
            CheckFields(root, LazyJsonPath.Root, RootFields);

            var defaultAction = PolicyAction.Deny;
            if (root.TryGetProperty("default", out var def))
            {
                defaultAction = ReadAction(def, LazyJsonPath.Root.Property("default")) ?? PolicyAction.Deny;
            }

            if (root.TryGetProperty("$schema", out var schema) && schema.ValueKind != JsonValueKind.String)
            {
                errors.AtValue("$.$schema", $"Expected a string (the schema's URL or path), found {Describe(schema)}.");
            }

            var revision = ReadRevision(root);
            var hide = ReadHide(root);
            var allToolsLimits = _allToolsLimits = ReadAllTools(root);
            CheckOneAmountPerCounter(allToolsLimits);
            var tools = ReadTools(root);
            var risk = ReadRisk(root);
            var classify = ReadClassify(root);

            if (errors.Count > 0)
            {
                return null;
            }

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
                Counters = [.. _counters.Values.Select(c => c.Definition).OrderBy(c => c.Ordinal)],
            };
        }

        private string? ReadRevision(JsonElement root)
        {
            if (!root.TryGetProperty("revision", out var element))
            {
                return null;
            }

            var text = element.ValueKind == JsonValueKind.String ? element.GetString()! : null;
            if (text is null || text.Length == 0 || text.Length > MaxRevisionLength || text.Any(char.IsControl) || text.Trim().Length != text.Length)
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
                        _limitPaths[limit],
                        $"Counter '{limit.Counter.Name}' is also counted by {other.Pointer} ({Adds(other)}), and one call counts a counter once: "
                        + $"here it is {Adds(limit)}. Give each amount a counter of its own, or use the same increment_from.");
                }
            }

            static string Adds(CompiledLimit limit) => limit.IncrementFrom is { } from ? "adding " + from.Text : "adding 1 per call";
        }

        private NameMatcher<bool> ReadHide(JsonElement root)
        {
            if (!root.TryGetProperty("hide", out var hide))
            {
                return NameMatcher<bool>.Empty;
            }

            if (!ExpectKind(hide, HidePath, JsonValueKind.Array, "an array of tool names or globs"))
            {
                return NameMatcher<bool>.Empty;
            }

            var entries = new List<KeyValuePair<string, bool>>();
            var index = 0;
            foreach (var item in hide.EnumerateArray())
            {
                var path = HidePath.Index(index++);
                if (item.ValueKind != JsonValueKind.String)
                {
                    errors.AtValue(path, $"Expected a tool name or glob (a string), found {Describe(item)}.");
                }
                else if (string.IsNullOrWhiteSpace(item.GetString()))
                {
                    errors.AtValue(path, "Expected a tool name or glob, found an empty string. Use \"*\" to hide every tool.");
                }
                else
                {
                    entries.Add(new(item.GetString()!, true));
                }
            }

            return new NameMatcher<bool>(entries);
        }

        private CompiledLimit[] ReadAllTools(JsonElement root)
        {
            if (!root.TryGetProperty("all_tools", out var allTools))
            {
                return [];
            }

            if (!ExpectKind(allTools, AllToolsPath, JsonValueKind.Object, "an object with \"limits\""))
            {
                return [];
            }

            CheckFields(allTools, AllToolsPath, AllToolsFields);
            return allTools.TryGetProperty("limits", out var limits)
                ? ReadLimits(limits, AllToolsPath.Property("limits"), "/all_tools/limits")
                : [];
        }

        private NameMatcher<CompiledRule> ReadTools(JsonElement root)
        {
            if (!root.TryGetProperty("tools", out var tools))
            {
                return NameMatcher<CompiledRule>.Empty;
            }

            if (!ExpectKind(tools, ToolsPath, JsonValueKind.Object, "an object of rules keyed by tool name or glob"))
            {
                return NameMatcher<CompiledRule>.Empty;
            }

            var rules = new List<KeyValuePair<string, CompiledRule>>();
            foreach (var property in tools.EnumerateObject())
            {
                var path = ToolsPath.Property(property.Name);
                if (string.IsNullOrWhiteSpace(property.Name))
                {
                    errors.AtKey(path, "Expected a tool name or glob as the key, found an empty string.");
                    continue;
                }

                var rule = ReadRule(property.Value, path, "/tools/" + EscapePointer(property.Name));
                if (rule is not null)
                {
                    rules.Add(new(property.Name, rule));
                }
            }

            return new NameMatcher<CompiledRule>(rules);
        }

        private CompiledRule?[] ReadRisk(JsonElement root)
        {
            var rules = new CompiledRule?[Categories.Count];
            if (!root.TryGetProperty("risk", out var risk)
                || !ExpectKind(risk, RiskPath, JsonValueKind.Object, "an object of rules keyed by risk category"))
            {
                return rules;
            }

            foreach (var property in risk.EnumerateObject())
            {
                var path = RiskPath.Property(property.Name);
                if (!Categories.TryGetValue(property.Name, out var category))
                {
                    errors.AtKey(path, $"Unknown risk category '{property.Name}'. Expected one of: {string.Join(", ", Categories.Keys.Order(StringComparer.Ordinal))}.");
                    continue;
                }

                rules[(int)category] = ReadRule(property.Value, path, "/risk/" + property.Name);
            }

            return rules;
        }

        private NameMatcher<ClassifyEntry> ReadClassify(JsonElement root)
        {
            if (!root.TryGetProperty("classify", out var classify)
                || !ExpectKind(classify, ClassifyPath, JsonValueKind.Object, "an object mapping tool names or globs to risk categories"))
            {
                return NameMatcher<ClassifyEntry>.Empty;
            }

            var entries = new List<KeyValuePair<string, ClassifyEntry>>();
            foreach (var property in classify.EnumerateObject())
            {
                var path = ClassifyPath.Property(property.Name);
                if (string.IsNullOrWhiteSpace(property.Name))
                {
                    errors.AtKey(path, "Expected a tool name or glob as the key, found an empty string.");
                }
                else if (property.Value.ValueKind != JsonValueKind.String || !Categories.TryGetValue(property.Value.GetString()!, out var category))
                {
                    errors.AtValue(path, $"Expected a risk category ({string.Join(", ", Categories.Keys.Order(StringComparer.Ordinal))}), found {Describe(property.Value)}.");
                }
                else
                {
                    entries.Add(new(property.Name, new ClassifyEntry(category, "/classify/" + EscapePointer(property.Name))));
                }
            }

            return new NameMatcher<ClassifyEntry>(entries);
        }

        private CompiledRule? ReadRule(JsonElement rule, LazyJsonPath path, string pointer)
        {
            if (!ExpectKind(rule, path, JsonValueKind.Object, "a rule object ({} allows the tool)"))
            {
                return null;
            }

            var before = errors.Count;
            CheckFields(rule, path, RuleFields);

            var action = PolicyAction.Allow;
            if (rule.TryGetProperty("action", out var actionElement))
            {
                action = ReadAction(actionElement, path.Property("action")) ?? PolicyAction.Allow;
            }

            string? reason = null;
            if (rule.TryGetProperty("reason", out var reasonElement))
            {
                reason = ReadString(reasonElement, path.Property("reason"), "a reason (text shown to the agent)");
            }

            var require = ReadPredicates(rule, "require", path, pointer);
            var denyIf = ReadPredicates(rule, "deny_if", path, pointer);
            var approvalIf = ReadPredicates(rule, "require_approval_if", path, pointer);
            var limits = rule.TryGetProperty("limits", out var limitsElement)
                ? ReadLimits(limitsElement, path.Property("limits"), pointer + "/limits")
                : [];

            if (rule.TryGetProperty("rate_limit", out var rateLimit))
            {
                var shorthand = ReadRateLimit(rateLimit, path.Property("rate_limit"), pointer + "/rate_limit");
                if (shorthand is not null)
                {
                    limits = [.. limits, shorthand];
                }
            }

            CheckOneAmountPerCounter(limits);

            if (action == PolicyAction.Deny && (rule.TryGetProperty("limits", out _) || rule.TryGetProperty("rate_limit", out _)))
            {
                errors.AtKey(
                    path.Property(rule.TryGetProperty("limits", out _) ? "limits" : "rate_limit"),
                    "A rule whose action is \"deny\" cannot have limits: a denied call never counts. Remove the limits or change the action.");
            }

            if (errors.Count > before)
            {
                return null;
            }

            return new CompiledRule
            {
                Pointer = pointer,
                Action = action,
                Reason = reason,
                Require = require,
                DenyIf = denyIf,
                RequireApprovalIf = approvalIf,
                Limits = limits,
            };
        }

        private Predicate[] ReadPredicates(JsonElement rule, string field, LazyJsonPath rulePath, string rulePointer)
        {
            if (!rule.TryGetProperty(field, out var list))
            {
                return [];
            }

            var path = rulePath.Property(field);
            if (!ExpectKind(list, path, JsonValueKind.Array, "an array of conditions or predicates ({ \"conditions\": [...], \"on_deny\": \"...\" })"))
            {
                return [];
            }

            return ReadEach(list, path, $"{rulePointer}/{field}", ReadPredicate);
        }

        /// <summary>Reads each item of an array with its JSON path and pointer, keeping those that read without errors.</summary>
        private static T[] ReadEach<T>(JsonElement list, LazyJsonPath path, string pointer, Func<JsonElement, LazyJsonPath, string, T?> read)
            where T : class
        {
            var items = new T[list.GetArrayLength()];
            var kept = 0;
            var index = 0;
            foreach (var item in list.EnumerateArray())
            {
                if (read(item, path.Index(index), $"{pointer}/{index}") is { } value)
                {
                    items[kept++] = value;
                }

                index++;
            }

            return kept == items.Length ? items : items[..kept];
        }

        /// <summary>The hosted shape (an object with "conditions"), or a bare condition read as a one-condition predicate.</summary>
        private Predicate? ReadPredicate(JsonElement element, LazyJsonPath path, string pointer)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("conditions", out var list))
            {
                var bare = ReadCondition(element, path, pointer);
                return bare is null ? null : new Predicate { Pointer = pointer, Conditions = [bare], Reason = bare.Reason, Text = bare.Text };
            }

            var before = errors.Count;
            CheckFields(element, path, PredicateFields);
            string? onDeny = null;
            if (element.TryGetProperty("on_deny", out var onDenyElement))
            {
                onDeny = ReadString(onDenyElement, path.Property("on_deny"), "the text the agent reads");
            }

            var listPath = path.Property("conditions");
            var conditions = ExpectKind(list, listPath, JsonValueKind.Array, "an array of conditions ([] matches every call)")
                ? ReadEach(list, listPath, pointer + "/conditions", ReadCondition)
                : [];

            if (errors.Count > before)
            {
                return null;
            }

            return new Predicate
            {
                Pointer = pointer,
                Conditions = conditions,
                Reason = onDeny,
                Text = conditions.Length == 0 ? "every call matches (no conditions)" : string.Join(" and ", conditions.Select(c => c.Text)),
            };
        }

        private Condition? ReadCondition(JsonElement element, LazyJsonPath path, string pointer)
        {
            if (!ExpectKind(element, path, JsonValueKind.Object, "a condition object with \"path\" and \"op\""))
            {
                return null;
            }

            var before = errors.Count;
            CheckFields(element, path, ConditionFields);
            var conditionPath = ReadConditionPath(element, path);

            ConditionOperator? op = null;
            if (!element.TryGetProperty("op", out var opElement))
            {
                errors.AtValue(path, $"Missing \"op\". Expected one of: {OperatorList}.");
            }
            else if (opElement.ValueKind != JsonValueKind.String || !Operators.TryGetValue(opElement.GetString()!, out var parsed))
            {
                errors.AtValue(path.Property("op"), $"Unknown operator {Describe(opElement)}. Expected one of: {OperatorList}.");
            }
            else
            {
                op = parsed;
            }

            string? reason = null;
            if (element.TryGetProperty("reason", out var reasonElement))
            {
                reason = ReadString(reasonElement, path.Property("reason"), "a reason (text shown to the agent)");
            }

            var hasValue = element.TryGetProperty("value", out var value);
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
                        errors.AtValue(path, $"Operator \"{opElement.GetString()}\" needs \"value\": a list of values.");
                    }
                    else if (value.ValueKind != JsonValueKind.Array)
                    {
                        errors.AtValue(path.Property("value"), $"Operator \"{opElement.GetString()}\" needs a list of values, found {Describe(value)}.");
                    }

                    break;
                case ConditionOperator.Lt or ConditionOperator.Lte or ConditionOperator.Gt or ConditionOperator.Gte:
                    if (conditionPath is { IsCaller: true })
                    {
                        errors.AtValue(path.Property("op"), $"Operator \"{opElement.GetString()}\" compares numbers, and {conditionPath.Text} is text. Use eq, neq, in, not_in, regex, contains or exists.");
                    }
                    else if (!hasValue)
                    {
                        errors.AtValue(path, $"Operator \"{opElement.GetString()}\" needs \"value\": a number.");
                    }
                    else if (value.ValueKind != JsonValueKind.Number)
                    {
                        errors.AtValue(path.Property("value"), $"Operator \"{opElement.GetString()}\" compares numbers, found {Describe(value)}.");
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
                        errors.AtValue(path, $"Operator \"{opElement.GetString()}\" needs \"value\".");
                    }

                    break;
            }

            if (errors.Count > before || conditionPath is null || op is null)
            {
                return null;
            }

            var text = op == ConditionOperator.Exists
                ? $"{conditionPath.Text} {(existsExpected ? "exists" : "does not exist")}"
                : $"{conditionPath.Text} {opElement.GetString()} {(regex is not null ? value.GetString() : value.GetRawText())}";
            return new Condition
            {
                Pointer = pointer,
                Path = conditionPath,
                Operator = op.Value,
                Value = hasValue ? value.Clone() : default,
                Regex = regex,
                ExistsExpected = existsExpected,
                Reason = reason,
                Text = text,
            };
        }

        private CompiledLimit[] ReadLimits(JsonElement list, LazyJsonPath path, string pointer)
        {
            if (!ExpectKind(list, path, JsonValueKind.Array, "an array of limits"))
            {
                return [];
            }

            return ReadEach(list, path, pointer, ReadLimit);
        }

        private CompiledLimit? ReadLimit(JsonElement element, LazyJsonPath path, string pointer)
        {
            if (!ExpectKind(element, path, JsonValueKind.Object, "a limit object with \"counter\", \"window\" and \"max\""))
            {
                return null;
            }

            var before = errors.Count;
            CheckFields(element, path, LimitFields);
            string? name = null;
            if (!element.TryGetProperty("counter", out var counter))
            {
                errors.AtValue(path, "Missing \"counter\": the name of the counter this limit counts in.");
            }
            else
            {
                name = ReadString(counter, path.Property("counter"), "a counter name");
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
            var (max, window, scope) = ReadBudget(element, path, CounterScope.Grant);
            ArgumentPath? incrementFrom = null;
            if (element.TryGetProperty("increment_from", out _))
            {
                incrementFrom = RequireArgumentPath(element, "increment_from", path);
            }

            if (errors.Count > before || name is null)
            {
                return null;
            }

            var definition = DefineCounter(name, max, window, scope, path, incrementFrom?.Text);
            return definition is null ? null : Remember(new CompiledLimit { Pointer = pointer, Counter = definition, IncrementFrom = incrementFrom }, path);
        }

        private CompiledLimit? ReadRateLimit(JsonElement element, LazyJsonPath path, string pointer)
        {
            if (!ExpectKind(element, path, JsonValueKind.Object, "an object such as { \"max\": 10, \"window\": 60 }"))
            {
                return null;
            }

            var before = errors.Count;
            CheckFields(element, path, RateLimitFields);

            // The shorthand keeps the hosted product's per-session meaning.
            var (max, window, scope) = ReadBudget(element, path, CounterScope.Session);
            if (errors.Count > before)
            {
                return null;
            }

            // The shorthand's counter belongs to its rule alone: named after the rule's pointer, which no policy key can clash with.
            var definition = DefineCounter(pointer, max, window, scope, path);
            return definition is null ? null : Remember(new CompiledLimit { Pointer = pointer, Counter = definition }, path);
        }

        private CompiledLimit Remember(CompiledLimit limit, LazyJsonPath path)
        {
            _limitPaths[limit] = path;
            return limit;
        }

        private (long Max, TimeSpan Window, CounterScope Scope) ReadBudget(JsonElement element, LazyJsonPath path, CounterScope defaultScope)
        {
            long max = 1;
            if (!element.TryGetProperty("max", out var maxElement))
            {
                errors.AtValue(path, "Missing \"max\": the most units the window may hold (a positive whole number).");
            }
            else if (maxElement.ValueKind != JsonValueKind.Number || !maxElement.TryGetInt64(out max) || max < 1 || max > PolicyLimits.MaxUnits)
            {
                errors.AtValue(path.Property("max"), $"Expected a positive whole number no larger than {PolicyLimits.MaxUnits}, found {Describe(maxElement)}.");
            }

            var window = TimeSpan.FromMinutes(1);
            if (!element.TryGetProperty("window", out var windowElement))
            {
                errors.AtValue(path, "Missing \"window\": second, minute, hour, day, a number of seconds, or a duration such as \"90s\", \"5m\", \"1h\", \"1d\".");
            }
            else
            {
                window = ReadWindow(windowElement, path.Property("window")) ?? window;
            }

            var scope = defaultScope;
            if (element.TryGetProperty("scope", out var scopeElement))
            {
                if (scopeElement.ValueKind != JsonValueKind.String || !Scopes.TryGetValue(scopeElement.GetString()!, out scope))
                {
                    errors.AtValue(path.Property("scope"), $"Unknown scope {Describe(scopeElement)}. Expected one of: grant, session, agent, user, global.");
                }
            }

            return (max, window, scope);
        }

        private TimeSpan? ReadWindow(JsonElement element, LazyJsonPath path)
        {
            TimeSpan? window = null;
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
                errors.AtValue(path, $"Unknown window {Describe(element)}. Expected second, minute, hour, day, a whole number of seconds, or a duration such as \"90s\", \"5m\", \"1h\", \"1d\" (at most 366 days).");
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

        private CounterDefinition? DefineCounter(string name, long max, TimeSpan window, CounterScope scope, LazyJsonPath path, string? incrementFrom = null)
        {
            if (_counters.TryGetValue(name, out var existing))
            {
                var d = existing.Definition;
                if (d.Max != max || d.Window != window || d.Scope != scope)
                {
                    errors.AtValue(path, $"Counter '{name}' is defined two ways: here {max} per {Format(window)} per {scope.Name()}, at {existing.Path} {d.Max} per {Format(d.Window)} per {d.Scope.Name()}. A counter has one window, max and scope wherever it is named.");
                    return null;
                }

                return d;
            }

            var definition = new CounterDefinition(name, max, window, scope) { Ordinal = _counters.Count, IncrementFrom = incrementFrom };
            _counters[name] = (definition, path);
            return definition;
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

        private ConditionPath? ReadConditionPath(JsonElement element, LazyJsonPath path)
        {
            if (element.TryGetProperty("path", out var value) && value.ValueKind == JsonValueKind.String
                && value.GetString()!.StartsWith("caller.", StringComparison.Ordinal))
            {
                var text = value.GetString()!;
                var caller = ConditionPath.ForCaller(text);
                if (caller is null)
                {
                    errors.AtValue(
                        path.Property("path"),
                        $"Unknown caller path \"{text}\". Expected caller.grant, caller.user, caller.agent, caller.session or caller.claims.<type>.");
                }

                return caller;
            }

            var argument = RequireArgumentPath(element, "path", path, "or caller.grant, caller.user, caller.agent, caller.session, caller.claims.<type>");
            return argument is null ? null : ConditionPath.ForArguments(argument);
        }

        private ArgumentPath? RequireArgumentPath(JsonElement element, string field, LazyJsonPath path, string? alternatives = null)
        {
            var fieldPath = path.Property(field);
            if (!element.TryGetProperty(field, out var value))
            {
                errors.AtValue(path, $"Missing \"{field}\": a path into the call's arguments such as \"args.amount\"{(alternatives is null ? "" : ", " + alternatives)}.");
                return null;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                errors.AtValue(fieldPath, $"Expected a path into the call's arguments such as \"args.amount\"{(alternatives is null ? "" : ", " + alternatives)}, found {Describe(value)}.");
                return null;
            }

            var text = value.GetString()!;
            if (!text.StartsWith("args.", StringComparison.Ordinal) || text.Length == 5)
            {
                errors.AtValue(fieldPath, $"The path \"{text}\" must start with \"args.\" followed by an argument name, such as \"args.amount\"{(alternatives is null ? "" : ", " + alternatives)}.");
                return null;
            }

            var segments = text[5..].Split('.');
            if (segments.Any(s => s.Length == 0))
            {
                errors.AtValue(fieldPath, $"The path \"{text}\" has an empty segment; use dots only between names, such as \"args.customer.id\".");
                return null;
            }

            return new ArgumentPath(text, segments);
        }

        private PolicyAction? ReadAction(JsonElement element, LazyJsonPath path)
        {
            if (element.ValueKind == JsonValueKind.String && Actions.TryGetValue(element.GetString()!, out var action))
            {
                return action;
            }

            errors.AtValue(path, $"Unknown action {Describe(element)}. Expected one of: allow, deny, require_approval.");
            return null;
        }

        private string? ReadString(JsonElement element, LazyJsonPath path, string expected)
        {
            if (element.ValueKind == JsonValueKind.String)
            {
                return element.GetString();
            }

            errors.AtValue(path, $"Expected {expected} (a string), found {Describe(element)}.");
            return null;
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

        private void CheckFields(JsonElement element, LazyJsonPath path, FrozenSet<string> known)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (!IsKnown(property, known))
                {
                    var suggestion = Suggest(property.Name, known);
                    errors.AtKey(
                        path.Property(property.Name),
                        $"Unknown field '{property.Name}'{(suggestion is null ? "" : $" (did you mean '{suggestion}'?)")}. Expected one of: {string.Join(", ", known.Order(StringComparer.Ordinal))}.");
                }
            }
        }

        /// <summary>Whether the property's name is one of <paramref name="known"/>, compared in UTF-8 so that a known name is never copied into a string.</summary>
        private static bool IsKnown(JsonProperty property, FrozenSet<string> known)
        {
            foreach (var field in known.Items)
            {
                if (property.NameEquals(field))
                {
                    return true;
                }
            }

            return false;
        }

        private static string OperatorList => string.Join(", ", Operators.Keys.Order(StringComparer.Ordinal));

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
