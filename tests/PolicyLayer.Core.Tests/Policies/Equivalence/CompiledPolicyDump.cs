using System.Globalization;
using System.Text;
using System.Text.Json;
using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Policies.Equivalence;

/// <summary>
/// A canonical text of a <see cref="CompiledPolicy"/>: everything evaluation, explanations and stores read from it, one
/// fact per line, in an order that does not depend on how the policy was built (keys sorted, glob precedence listed apart).
/// Two readers build the same policy exactly when their dumps are equal. Reading every tool rule makes the rules that
/// are built on first match.
/// </summary>
internal static class CompiledPolicyDump
{
    public static string Of(CompiledPolicy policy)
    {
        var text = new StringBuilder();
        var counters = policy.Counters;
        text.Append("version ").AppendLine(Quote(policy.Version));
        text.Append("declared_revision ").AppendLine(policy.DeclaredRevision is { } declared ? Quote(declared) : "none");
        text.Append("revision ").AppendLine(Quote(policy.Revision));
        text.Append("default ").AppendLine(policy.DefaultAction.ToString());

        text.Append("hide ").Append(policy.Hide.Count.ToString(CultureInfo.InvariantCulture)).AppendLine();
        foreach (var (key, value) in policy.Hide.Entries.OrderBy(e => e.Key, StringComparer.Ordinal).ThenBy(e => e.Value))
        {
            text.Append("  ").Append(Quote(key)).Append(" = ").AppendLine(value.ToString());
        }

        var tools = policy.Tools.Entries.ToList();
        text.Append("tools ").Append(policy.Tools.Count.ToString(CultureInfo.InvariantCulture)).Append(" (entries ")
            .Append(tools.Count.ToString(CultureInfo.InvariantCulture)).Append(", duplicate ")
            .Append(policy.Tools.DuplicateKey is { } duplicate ? Quote(duplicate) : "none").AppendLine(")");
        AppendGlobPrecedence(text, tools.Select(e => e.Key));
        foreach (var (key, rule) in tools.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append("  tool ").AppendLine(Quote(key));
            AppendRule(text, rule, counters, "    ");
        }

        text.AppendLine("risk");
        for (var category = 0; category < policy.RiskRules.Length; category++)
        {
            text.Append("  ").Append(((RiskCategory)category).ToString()).Append(": ");
            if (policy.RiskRules[category] is { } rule)
            {
                text.AppendLine("rule");
                AppendRule(text, rule, counters, "    ");
            }
            else
            {
                text.AppendLine("none");
            }
        }

        var classify = policy.Classify.Entries.ToList();
        text.Append("classify ").Append(policy.Classify.Count.ToString(CultureInfo.InvariantCulture)).AppendLine();
        AppendGlobPrecedence(text, classify.Select(e => e.Key));
        foreach (var (key, entry) in classify.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append("  ").Append(Quote(key)).Append(" = ").Append(entry.Category.ToString()).Append(" at ").AppendLine(Quote(entry.Pointer));
        }

        text.Append("all_tools.limits ").Append(policy.AllToolsLimits.Length.ToString(CultureInfo.InvariantCulture)).AppendLine();
        foreach (var limit in policy.AllToolsLimits)
        {
            AppendLimit(text, limit, counters, "  ");
        }

        text.Append("counters ").Append(counters.Count.ToString(CultureInfo.InvariantCulture)).AppendLine();
        for (var i = 0; i < counters.Count; i++)
        {
            var counter = counters[i];
            text.Append("  [").Append(i.ToString(CultureInfo.InvariantCulture)).Append("] ").Append(Quote(counter.Name))
                .Append(" max ").Append(counter.Max.ToString(CultureInfo.InvariantCulture))
                .Append(" window ").Append(counter.Window.Ticks.ToString(CultureInfo.InvariantCulture)).Append(" ticks")
                .Append(" scope ").Append(counter.Scope.ToString())
                .Append(" ordinal ").Append(counter.Ordinal.ToString(CultureInfo.InvariantCulture))
                .Append(" increment_from ").AppendLine(counter.IncrementFrom is { } from ? Quote(from) : "none");
        }

        return text.ToString();
    }

    /// <summary>One rule, its limits' counters named by their index in <paramref name="counters"/> (the policy's).</summary>
    public static string OfRule(CompiledRule rule, IReadOnlyList<CounterDefinition> counters)
    {
        var text = new StringBuilder();
        AppendRule(text, rule, counters, "");
        return text.ToString();
    }

    /// <summary>The first line at which two dumps differ, with its number, or null when they are equal.</summary>
    public static string? FirstDifference(string expected, string actual)
    {
        if (string.Equals(expected, actual, StringComparison.Ordinal))
        {
            return null;
        }

        var left = expected.Split('\n');
        var right = actual.Split('\n');
        for (var i = 0; ; i++)
        {
            var a = i < left.Length ? left[i].TrimEnd('\r') : "(end)";
            var b = i < right.Length ? right[i].TrimEnd('\r') : "(end)";
            if (!string.Equals(a, b, StringComparison.Ordinal))
            {
                return $"line {i + 1}: full read \"{a}\", fast read \"{b}\"";
            }
        }
    }

    /// <summary>
    /// Glob keys in the order the matcher tries them (fewest wildcards, longest, then document order): the one fact the
    /// sorted listing of rules does not show.
    /// </summary>
    private static void AppendGlobPrecedence(StringBuilder text, IEnumerable<string> keysInMatcherOrder)
    {
        text.Append("  glob precedence:");
        foreach (var key in keysInMatcherOrder.Where(k => GlobPattern.IsGlob(k)))
        {
            text.Append(' ').Append(Quote(key));
        }

        text.AppendLine();
    }

    private static void AppendRule(StringBuilder text, CompiledRule rule, IReadOnlyList<CounterDefinition> counters, string indent)
    {
        text.Append(indent).Append("pointer ").AppendLine(Quote(rule.Pointer));
        text.Append(indent).Append("action ").AppendLine(rule.Action.ToString());
        text.Append(indent).Append("reason ").AppendLine(rule.Reason is { } reason ? Quote(reason) : "none");
        text.Append(indent).Append("allowed_reason ").AppendLine(Quote(rule.AllowedReason));
        AppendPredicates(text, "require", rule.Require, indent);
        AppendPredicates(text, "deny_if", rule.DenyIf, indent);
        AppendPredicates(text, "require_approval_if", rule.RequireApprovalIf, indent);
        text.Append(indent).Append("limits ").Append(rule.Limits.Length.ToString(CultureInfo.InvariantCulture)).AppendLine();
        foreach (var limit in rule.Limits)
        {
            AppendLimit(text, limit, counters, indent + "  ");
        }
    }

    private static void AppendPredicates(StringBuilder text, string field, Predicate[] predicates, string indent)
    {
        text.Append(indent).Append(field).Append(' ').Append(predicates.Length.ToString(CultureInfo.InvariantCulture)).AppendLine();
        foreach (var predicate in predicates)
        {
            var inner = indent + "  ";
            text.Append(inner).Append("predicate ").AppendLine(Quote(predicate.Pointer));
            text.Append(inner).Append("  reason ").AppendLine(predicate.Reason is { } reason ? Quote(reason) : "none");
            text.Append(inner).Append("  text ").AppendLine(Quote(predicate.Text));
            foreach (var condition in predicate.Conditions)
            {
                AppendCondition(text, condition, inner + "  ");
            }
        }
    }

    private static void AppendCondition(StringBuilder text, Condition condition, string indent)
    {
        var path = condition.Path;
        text.Append(indent).Append("condition ").AppendLine(Quote(condition.Pointer));
        text.Append(indent).Append("  path ").Append(Quote(path.Text)).Append(" source ").Append(path.Source.ToString())
            .Append(" claim ").Append(path.ClaimType is { } claim ? Quote(claim) : "none")
            .Append(" argument ").AppendLine(path.Argument is { } argument ? ArgumentText(argument) : "none");
        text.Append(indent).Append("  op ").AppendLine(condition.Operator.ToString());
        text.Append(indent).Append("  value ").AppendLine(condition.Value.ValueKind == JsonValueKind.Undefined
            ? "none"
            : condition.Value.ValueKind.ToString() + " " + Quote(condition.Value.GetRawText()));
        text.Append(indent).Append("  regex ").AppendLine(condition.Regex is { } regex
            ? $"{Quote(regex.ToString())} options {regex.Options} timeout {regex.MatchTimeout.Ticks}"
            : "none");
        text.Append(indent).Append("  exists_expected ").AppendLine(condition.ExistsExpected ? "true" : "false");
        text.Append(indent).Append("  reason ").AppendLine(condition.Reason is { } reason ? Quote(reason) : "none");
        text.Append(indent).Append("  text ").AppendLine(Quote(condition.Text));
    }

    private static void AppendLimit(StringBuilder text, CompiledLimit limit, IReadOnlyList<CounterDefinition> counters, string indent)
    {
        var index = -1;
        for (var i = 0; i < counters.Count && index < 0; i++)
        {
            index = ReferenceEquals(counters[i], limit.Counter) ? i : -1;
        }

        text.Append(indent).Append("limit ").Append(Quote(limit.Pointer))
            .Append(" counter ").Append(index >= 0 ? "#" + index.ToString(CultureInfo.InvariantCulture) : "NOT THE POLICY'S OWN " + limit.Counter)
            .Append(" increment_from ").AppendLine(limit.IncrementFrom is { } from ? ArgumentText(from) : "none");
    }

    private static string ArgumentText(ArgumentPath argument) =>
        Quote(argument.Text) + " [" + string.Join(", ", argument.Segments.Select(Quote)) + "]";

    /// <summary>The text in double quotes, with quotes, backslashes, controls and anything outside printable ASCII escaped, so that one fact stays one line.</summary>
    private static string Quote(string value)
    {
        var quoted = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
            {
                quoted.Append('\\').Append(c);
            }
            else if (c < ' ' || c > '~')
            {
                quoted.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                quoted.Append(c);
            }
        }

        return quoted.Append('"').ToString();
    }
}
