using System.Globalization;
using System.Text;

namespace PolicyLayer.Testing;

/// <summary>
/// A decision in words for failure messages: outcome, rule, reason, retry time, risk and counters. Passed to
/// FluentAssertions as an object whose <see cref="ToString"/> is the text, so that it is printed as is, not quoted.
/// </summary>
internal sealed class DecisionText
{
    private readonly string _text;

    public DecisionText(in PolicyDecision decision) => _text = Describe(decision);

    public static string Describe(in PolicyDecision decision)
    {
        var text = new StringBuilder();
        text.Append(OutcomeName(decision.Outcome)).Append(" by ").Append(decision.RuleId ?? "(no rule)");
        text.Append(" (reason: \"").Append(decision.Reason).Append('"');
        if (decision.RetryAfter is { } retry)
        {
            text.Append("; retry after ").Append(FormatSpan(retry));
        }

        if (decision.Risk is { } risk)
        {
            text.Append("; risk ").Append(risk.Category).Append('/').Append(risk.Level);
        }

        if (decision.Counters.Count > 0)
        {
            text.Append("; counters ");
            text.AppendJoin(", ", decision.Counters.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Counter.Name} {c.Remaining}/{c.Counter.Max} left")));
        }

        if (decision.IsShadowed)
        {
            text.Append("; shadow mode, would have been ").Append(decision.ShadowedOutcome is { } shadowed ? OutcomeName(shadowed) : "?");
        }

        return text.Append(')').ToString();
    }

    public static string OutcomeName(PolicyOutcome outcome) => outcome switch
    {
        PolicyOutcome.Allow => "allowed",
        PolicyOutcome.Deny => "denied",
        PolicyOutcome.RequireApproval => "approval required",
        _ => outcome.ToString(),
    };

    public static string FormatSpan(TimeSpan span) =>
        span.TotalSeconds >= 1
            ? span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s"
            : span.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + " ms";

    public override string ToString() => _text;
}

/// <summary>Text that failure messages print as is (FluentAssertions quotes strings and decorates enums).</summary>
internal sealed class PlainText(string text)
{
    public override string ToString() => text;
}
