using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PolicyLayer.Cli.Import;

/// <summary>One line of an import report: where in the YAML, and what was changed or could not be carried over.</summary>
/// <param name="Line">The YAML line (1-based).</param>
/// <param name="Carried">False when the construct was dropped (the result may allow what the original refused).</param>
/// <param name="Message">What happened, in words.</param>
internal sealed record ImportNote(int Line, bool Carried, string Message);

/// <summary>The policy JSON an import produced, and what it could not carry over exactly.</summary>
internal sealed record ImportResult(JsonObject Policy, IReadOnlyList<ImportNote> Notes);

/// <summary>
/// Converts a policy of PolicyLayer's open-source Intercept proxy (YAML) into a version "1" policy document. Every
/// difference of meaning is reported with its line: Intercept's calendar-aligned windows become sliding ones, its
/// counters (shared by every caller of the proxy) become <c>global</c> limits, and what has no equivalent is named.
/// </summary>
/// <remarks>
/// What maps: <c>default</c> (Intercept's absent default is allow, so it is written out), <c>hide</c> and per-tool
/// <c>hide: true</c>; a rule's <c>conditions</c> on <c>args.</c> (all must pass) as a <c>require</c> predicate with its
/// <c>on_deny</c>; <c>action: deny</c> as a <c>deny_if</c> predicate that always matches; <c>when: {args.x: regex}</c>
/// with <c>action: deny</c> as a <c>deny_if</c> predicate of regex conditions; <c>rate_limit: "N/window"</c> and
/// <c>state</c> counters limited by an <c>lte</c>/<c>lt</c> condition (with <c>increment</c> or <c>increment_from</c>)
/// as limits; <c>"*"</c> rules as <c>all_tools</c> limits and as predicates of every tool (and of a <c>"*"</c> rule for
/// unlisted tools when the default is allow).
/// </remarks>
internal sealed class InterceptImporter
{
    /// <summary>The largest YAML file read (as for policy documents).</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    private static readonly string[] RootFields = ["version", "description", "default", "hide", "tools"];
    private static readonly string[] ToolFields = ["rules", "hide"];
    private static readonly string[] RuleFields = ["name", "action", "conditions", "on_deny", "state", "rate_limit", "when"];
    private static readonly string[] StateFields = ["counter", "window", "increment", "increment_from"];
    private static readonly string[] ConditionFields = ["path", "op", "value"];

    private readonly List<ImportNote> _notes = [];
    private readonly HashSet<YamlNode> _seen = new(ReferenceEqualityComparer.Instance);

    // The counters defined by state blocks, by "<scope>.<counter>", with where they were defined.
    private readonly Dictionary<string, StateCounter> _counters = new(StringComparer.Ordinal);

    private sealed record StateCounter(string Name, TimeSpan Window, string WindowName, long Increment, string? IncrementFrom, int Line);

    private sealed record ToolRules(JsonArray Require, JsonArray DenyIf, JsonArray Limits);

    public static ImportResult Convert(string yaml) => new InterceptImporter().Run(yaml);

    private ImportResult Run(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new ImportException(checked((int)ex.Start.Line), "Malformed YAML: " + ex.Message, ex);
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ImportException(1, "Expected one YAML document whose root is a mapping (version, default, hide, tools).");
        }

        Visit(root);
        CheckFields(root, RootFields, "the policy");
        var version = Scalar(root, "version");
        if (version?.Value != "1")
        {
            throw new ImportException(Line(version ?? (YamlNode)root), $"Expected Intercept policy version \"1\", found {(version is null ? "none" : "\"" + version.Value + "\"")}.");
        }

        if (Child(root, "description") is { } description)
        {
            Note(description, true, "description is not part of the policy format; it is dropped.");
        }

        var defaultAction = Scalar(root, "default")?.Value ?? "allow";
        if (defaultAction is not ("allow" or "deny"))
        {
            throw new ImportException(Line(Child(root, "default")!), $"default must be \"allow\" or \"deny\", found \"{defaultAction}\".");
        }

        var policy = new JsonObject { ["version"] = "1", ["default"] = defaultAction };
        if (Child(root, "default") is null)
        {
            Note(root, true, "Intercept allows unlisted tools when default is absent; the import says \"default\": \"allow\" (ours means deny when absent).");
        }

        var hide = new JsonArray();
        if (Child(root, "hide") is { } hideNode)
        {
            foreach (var item in Sequence(hideNode, "hide"))
            {
                AddHidden(hide, ScalarValue(item, "a tool name in hide"));
            }
        }

        var tools = new JsonObject();
        var allToolsLimits = new JsonArray();
        ToolRules? wildcard = null;
        var toolRules = new List<(string Name, ToolRules Rules, JsonObject Rule)>();
        if (Child(root, "tools") is { } toolsNode)
        {
            var toolsMap = Mapping(toolsNode, "tools");

            // Counters first: a condition may read a counter that a later rule of the tool defines.
            foreach (var (key, value) in toolsMap.Children)
            {
                var name = ScalarValue(key, "a tool name");
                if (value is YamlMappingNode tool && Child(tool, "rules") is YamlSequenceNode rules)
                {
                    foreach (var rule in rules.Children.OfType<YamlMappingNode>())
                    {
                        DefineCounter(name, rule);
                    }
                }
            }

            foreach (var (key, value) in toolsMap.Children)
            {
                var name = ScalarValue(key, "a tool name");
                var tool = value is YamlScalarNode { Value: null or "" } ? new YamlMappingNode() : Mapping(value, $"tools.{name}");
                CheckFields(tool, ToolFields, $"tool {name}");
                if (Child(tool, "hide") is YamlScalarNode { Value: "true" })
                {
                    AddHidden(hide, name);
                }

                var converted = ConvertRules(name, tool);
                if (name == "*")
                {
                    wildcard = converted;
                    allToolsLimits = converted.Limits;
                }
                else
                {
                    var rule = new JsonObject();
                    tools[name] = rule;
                    toolRules.Add((name, converted, rule));
                }
            }
        }

        foreach (var (_, rules, rule) in toolRules)
        {
            Fill(rule, rules, wildcard);
        }

        if (wildcard is not null && (wildcard.Require.Count > 0 || wildcard.DenyIf.Count > 0) && defaultAction == "allow")
        {
            // Intercept applies "*" rules to every tool; ours to tools with no rule of their own through a "*" glob.
            var rule = new JsonObject();
            Fill(rule, new ToolRules([], [], []), wildcard);
            tools["*"] = rule;
        }

        if (hide.Count > 0)
        {
            policy["hide"] = hide;
        }

        if (allToolsLimits.Count > 0)
        {
            policy["all_tools"] = new JsonObject { ["limits"] = allToolsLimits };
        }

        policy["tools"] = tools;
        return new ImportResult(policy, _notes);
    }

    private static void Fill(JsonObject rule, ToolRules own, ToolRules? wildcard)
    {
        var require = new JsonArray([.. own.Require.Select(n => n!.DeepClone()), .. (wildcard?.Require ?? []).Select(n => n!.DeepClone())]);
        var denyIf = new JsonArray([.. own.DenyIf.Select(n => n!.DeepClone()), .. (wildcard?.DenyIf ?? []).Select(n => n!.DeepClone())]);
        if (require.Count > 0)
        {
            rule["require"] = require;
        }

        if (denyIf.Count > 0)
        {
            rule["deny_if"] = denyIf;
        }

        if (own.Limits.Count > 0)
        {
            rule["limits"] = own.Limits.DeepClone();
        }
    }

    private static void AddHidden(JsonArray hide, string name)
    {
        if (!hide.Any(h => h!.GetValue<string>() == name))
        {
            hide.Add((JsonNode?)(name));
        }
    }

    private ToolRules ConvertRules(string tool, YamlMappingNode node)
    {
        var result = new ToolRules([], [], []);
        if (Child(node, "rules") is not { } rulesNode)
        {
            return result;
        }

        var index = 0;
        foreach (var item in Sequence(rulesNode, $"tools.{tool}.rules"))
        {
            var rule = Mapping(item, $"tools.{tool}.rules[{index++}]");
            ConvertRule(tool, rule, result);
        }

        return result;
    }

    private void ConvertRule(string tool, YamlMappingNode rule, ToolRules into)
    {
        CheckFields(rule, RuleFields, "a rule");
        var name = Scalar(rule, "name")?.Value ?? "(unnamed)";
        var action = Scalar(rule, "action")?.Value ?? "evaluate";
        var onDeny = Scalar(rule, "on_deny")?.Value;
        var scope = tool == "*" ? "_global" : tool;

        if (Child(rule, "when") is { } when)
        {
            var conditions = new JsonArray();
            foreach (var (key, value) in Mapping(when, "when").Children)
            {
                var path = ScalarValue(key, "an argument path in when");
                if (!path.StartsWith("args.", StringComparison.Ordinal))
                {
                    Note(key, false, $"Rule \"{name}\": when on \"{path}\" is not carried over (only args. paths are).");
                    return;
                }

                conditions.Add((JsonNode?)(new JsonObject { ["path"] = path, ["op"] = "regex", ["value"] = ScalarValue(value, "a regular expression") }));
            }

            if (action != "deny")
            {
                Note(when, false, $"Rule \"{name}\": when with action \"{action}\" is not carried over (only when + action: deny is).");
                return;
            }

            into.DenyIf.Add((JsonNode?)(Predicate(conditions, onDeny ?? $"Denied by rule \"{name}\".")));
            return;
        }

        if (action == "deny")
        {
            into.DenyIf.Add((JsonNode?)(Predicate([], onDeny ?? $"Denied by rule \"{name}\".")));
            return;
        }

        if (action != "evaluate")
        {
            Note(Child(rule, "action")!, false, $"Rule \"{name}\": unknown action \"{action}\"; the rule is not carried over.");
            return;
        }

        if (Scalar(rule, "rate_limit") is { } rateLimit)
        {
            ConvertRateLimit(scope, name, rateLimit, onDeny, into);
            return;
        }

        var argumentConditions = new JsonArray();
        var conditionsNode = Child(rule, "conditions");
        foreach (var item in conditionsNode is null ? Enumerable.Empty<YamlNode>() : Sequence(conditionsNode, "conditions"))
        {
            var condition = Mapping(item, "a condition");
            CheckFields(condition, ConditionFields, "a condition");
            var path = Scalar(condition, "path")?.Value ?? "";
            var op = Scalar(condition, "op")?.Value ?? "";
            if (path.StartsWith("state.", StringComparison.Ordinal))
            {
                ConvertCounterCondition(name, condition, path, op, onDeny, into);
            }
            else if (path.StartsWith("args.", StringComparison.Ordinal))
            {
                var converted = new JsonObject { ["path"] = path, ["op"] = op };
                if (Child(condition, "value") is { } value)
                {
                    converted["value"] = ToJson(value);
                }

                argumentConditions.Add((JsonNode?)(converted));
            }
            else
            {
                Note(condition, false, $"Rule \"{name}\": the path \"{path}\" is neither args. nor state.; the condition is not carried over.");
            }
        }

        if (argumentConditions.Count > 0)
        {
            into.Require.Add((JsonNode?)(Predicate(argumentConditions, onDeny)));
        }
    }

    private static JsonObject Predicate(JsonArray conditions, string? onDeny)
    {
        var predicate = new JsonObject { ["conditions"] = conditions };
        if (onDeny is not null)
        {
            predicate["on_deny"] = onDeny;
        }

        return predicate;
    }

    private void ConvertRateLimit(string scope, string name, YamlScalarNode node, string? onDeny, ToolRules into)
    {
        var text = node.Value ?? "";
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || !long.TryParse(text.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var max) || max < 1
            || WindowOf(text[(slash + 1)..]) is not { } window)
        {
            Note(node, false, $"Rule \"{name}\": rate_limit \"{text}\" is not N/minute, N/hour or N/day; it is not carried over.");
            return;
        }

        var windowName = text[(slash + 1)..];
        into.Limits.Add((JsonNode?)(Limit($"{scope}._rate_{windowName}", windowName, max, null)));
        Note(node, true, $"Rule \"{name}\": rate_limit {text} becomes a sliding window of one {windowName} (Intercept's resets at the start of each UTC {windowName}, which admits up to twice the limit across a boundary), counted for every caller together (scope global).");
        NoteOnDeny(node, name, onDeny);
    }

    private void DefineCounter(string tool, YamlMappingNode rule)
    {
        if (Child(rule, "state") is not YamlMappingNode state)
        {
            return;
        }

        CheckFields(state, StateFields, "a state block");
        var counter = Scalar(state, "counter")?.Value;
        var windowName = Scalar(state, "window")?.Value ?? "";
        if (string.IsNullOrEmpty(counter) || WindowOf(windowName) is not { } window)
        {
            Note(state, false, "A state block needs a counter and a window of minute, hour or day; it is not carried over.");
            return;
        }

        long increment = 1;
        if (Scalar(state, "increment") is { } incrementNode
            && (!long.TryParse(incrementNode.Value, NumberStyles.None, CultureInfo.InvariantCulture, out increment) || increment < 1))
        {
            Note(incrementNode, false, $"increment \"{incrementNode.Value}\" is not a positive whole number; counter {counter} is not carried over.");
            return;
        }

        var incrementFrom = Scalar(state, "increment_from")?.Value;
        var scope = tool == "*" ? "_global" : tool;
        _counters[$"{scope}.{counter}"] = new StateCounter($"{scope}.{counter}", window, windowName, increment, incrementFrom, Line(state));
    }

    private void ConvertCounterCondition(string name, YamlMappingNode condition, string path, string op, string? onDeny, ToolRules into)
    {
        var key = path["state.".Length..];
        if (!_counters.TryGetValue(key, out var counter))
        {
            Note(condition, false, $"Rule \"{name}\": {path} names no counter that a state block defines; the condition is not carried over.");
            return;
        }

        if (Child(condition, "value") is not YamlScalarNode valueNode
            || !long.TryParse(valueNode.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var bound)
            || op is not ("lte" or "lt"))
        {
            Note(condition, false, $"Rule \"{name}\": only \"{path} lte N\" or \"lt N\" (a whole number) becomes a limit; this condition is not carried over.");
            return;
        }

        // Intercept refuses a call whose post-increment value would break the condition: lte N admits N units, lt N admits N - 1.
        var units = op == "lte" ? bound : bound - 1;
        var max = units / counter.Increment;
        if (max < 1)
        {
            into.DenyIf.Add((JsonNode?)(Predicate([], onDeny ?? $"Counter {counter.Name} admits no call.")));
            Note(condition, true, $"Rule \"{name}\": {path} {op} {bound} admits no call; it becomes a deny_if that always matches.");
            return;
        }

        into.Limits.Add((JsonNode?)(Limit(counter.Name, counter.WindowName, max, counter.IncrementFrom)));
        Note(condition, true, $"Rule \"{name}\": counter {counter.Name} becomes a limit of {max} per sliding {counter.WindowName} (Intercept's window resets at the start of each UTC {counter.WindowName}), counted for every caller together (scope global).");
        if (counter.Increment != 1)
        {
            Note(condition, true, $"Rule \"{name}\": increment {counter.Increment} becomes a limit of {max} calls (each call adds 1 here; {max} × {counter.Increment} ≤ {units}).");
        }

        NoteOnDeny(condition, name, onDeny);
    }

    private void NoteOnDeny(YamlNode node, string name, string? onDeny)
    {
        if (onDeny is not null)
        {
            Note(node, true, $"Rule \"{name}\": on_deny \"{onDeny}\" is not kept for a limit; a refused call reads the standard rate-limit text with its retry time.");
        }
    }

    private static JsonObject Limit(string counter, string window, long max, string? incrementFrom)
    {
        var limit = new JsonObject { ["counter"] = counter, ["window"] = window, ["max"] = max, ["scope"] = "global" };
        if (incrementFrom is not null)
        {
            limit["increment_from"] = incrementFrom;
        }

        return limit;
    }

    private static TimeSpan? WindowOf(string name) => name switch
    {
        "minute" => TimeSpan.FromMinutes(1),
        "hour" => TimeSpan.FromHours(1),
        "day" => TimeSpan.FromDays(1),
        _ => null,
    };

    /// <summary>A YAML value as JSON: plain scalars that read as booleans, numbers or null become those; everything else text.</summary>
    private static JsonNode? ToJson(YamlNode node)
    {
        switch (node)
        {
            case YamlSequenceNode sequence:
                return new JsonArray([.. sequence.Children.Select(ToJson)]);
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    obj[ScalarValue(key, "a key")] = ToJson(value);
                }

                return obj;
            case YamlScalarNode scalar when scalar.Style is ScalarStyle.Plain:
                var text = scalar.Value ?? "";
                if (text is "true" or "false")
                {
                    return JsonValue.Create(text == "true");
                }

                if (text is "" or "~" or "null")
                {
                    return null;
                }

                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
                {
                    return JsonValue.Create(whole);
                }

                if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                {
                    return JsonValue.Create(number);
                }

                return JsonValue.Create(text);
            case YamlScalarNode scalar:
                return JsonValue.Create(scalar.Value ?? "");
            default:
                throw new ImportException(Line(node), "Unexpected YAML node.");
        }
    }

    /// <summary>Refuses a node reached twice: anchors and aliases could make a small file expand without bound.</summary>
    private void Visit(YamlNode node)
    {
        if (!_seen.Add(node))
        {
            throw new ImportException(Line(node), "YAML anchors and aliases are not supported: write the value out.");
        }

        if (node is YamlMappingNode mapping)
        {
            foreach (var (key, value) in mapping.Children)
            {
                Visit(key);
                Visit(value);
            }
        }
        else if (node is YamlSequenceNode sequence)
        {
            foreach (var item in sequence.Children)
            {
                Visit(item);
            }
        }
    }

    private void CheckFields(YamlMappingNode node, string[] known, string what)
    {
        foreach (var key in node.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                Note(key, false, $"Unknown field \"{name}\" in {what}; it is not carried over.");
            }
        }
    }

    private void Note(YamlNode node, bool carried, string message) => _notes.Add(new ImportNote(Line(node), carried, message));

    private static int Line(YamlNode node) => (int)Math.Min(node.Start.Line, int.MaxValue);

    private static YamlNode? Child(YamlMappingNode node, string name) =>
        node.Children.TryGetValue(new YamlScalarNode(name), out var value) ? value : null;

    private static YamlScalarNode? Scalar(YamlMappingNode node, string name) => Child(node, name) switch
    {
        null => null,
        YamlScalarNode scalar => scalar,
        var other => throw new ImportException(Line(other), $"Expected a value for \"{name}\", found a list or mapping."),
    };

    private static string ScalarValue(YamlNode node, string what) =>
        node is YamlScalarNode { Value: { } value } ? value : throw new ImportException(Line(node), $"Expected {what}, found a list or mapping.");

    private static YamlMappingNode Mapping(YamlNode node, string what) =>
        node as YamlMappingNode ?? throw new ImportException(Line(node), $"Expected a mapping at {what}.");

    private static IEnumerable<YamlNode> Sequence(YamlNode node, string what) =>
        node is YamlScalarNode { Value: null or "" } ? [] : (node as YamlSequenceNode)?.Children ?? throw new ImportException(Line(node), $"Expected a list at {what}.");

    /// <summary>Writes the converted policy as indented JSON.</summary>
    public static string ToJsonText(JsonObject policy) => policy.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}

/// <summary>A YAML file that cannot be imported at all, with the line that stops it.</summary>
internal sealed class ImportException : Exception
{
    public ImportException(int line, string message, Exception? inner = null)
        : base(message, inner)
    {
        Line = line;
    }

    public ImportException()
    {
    }

    public ImportException(string message)
        : base(message)
    {
    }

    public ImportException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public int Line { get; }
}
