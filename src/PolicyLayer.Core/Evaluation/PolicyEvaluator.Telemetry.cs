using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PolicyLayer.Diagnostics;

namespace PolicyLayer;

// Logs, metrics and traces of every decision. Each sink is checked for a listener before any work is done,
// so that with none the allowed path allocates nothing more than it did without telemetry.
public sealed partial class PolicyEvaluator
{
    /// <summary>The longest argument text logged when the host opted in to values; longer text is cut.</summary>
    internal const int MaxLoggedArgumentChars = 2_048;

    private readonly PolicyLayerInstruments _instruments;
    private readonly bool _logArgumentValues;

    // Decisions go through OnDecided only when something listens: a metric, a trace or a logger at the levels decisions use.
    partial void IsObservedByTelemetry(ref bool observed) =>
        observed |= _instruments.Decisions.Enabled
            || _instruments.Duration.Enabled
            || PolicyLayerInstruments.Source.HasListeners()
            || (!ReferenceEquals(_logger, NullLogger.Instance) && (_logger.IsEnabled(LogLevel.Information) || _logger.IsEnabled(LogLevel.Debug)));

    partial void OnDecided(ToolCall call, in PolicyDecision decision, TimeSpan elapsed)
    {
        try
        {
            Record(call, decision, elapsed);
        }
#pragma warning disable CA1031 // A failing log provider or metrics listener must not change, or fail, the decision.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private void Record(ToolCall call, in PolicyDecision decision, TimeSpan elapsed)
    {
        var instruments = _instruments;
        if (instruments.Decisions.Enabled)
        {
            var tags = new TagList
            {
                { DiagnosticTags.Outcome, DiagnosticTags.OutcomeName(DiagnosticTags.Verdict(decision)) },
                { DiagnosticTags.Rule, decision.RuleId },
                { DiagnosticTags.RiskCategory, DiagnosticTags.CategoryName(decision.Risk) },
                { DiagnosticTags.Shadowed, DiagnosticTags.Bool(decision.IsShadowed) },
            };
            instruments.Decisions.Add(1, in tags);
        }

        if (instruments.Duration.Enabled)
        {
            var tags = new TagList
            {
                { DiagnosticTags.Outcome, DiagnosticTags.OutcomeName(DiagnosticTags.Verdict(decision)) },
                { DiagnosticTags.Shadowed, DiagnosticTags.Bool(decision.IsShadowed) },
            };
            instruments.Duration.Record(elapsed.TotalSeconds, in tags);
        }

        if (PolicyLayerInstruments.Source.HasListeners())
        {
            Trace(call, decision, elapsed);
        }

        var level = LevelOf(decision);
        if (_logger.IsEnabled(level))
        {
            Log(call, decision, elapsed);
        }
    }

    /// <summary>Counts a failed counter-store call; the evaluator then fails closed or open as configured.</summary>
    private void RecordCounterStoreError(Exception exception, CounterStoreFailureMode? mode = null)
    {
        var errors = _instruments.CounterStoreErrors;
        if (errors.Enabled)
        {
            var tags = new TagList
            {
                { DiagnosticTags.ErrorType, exception.GetType().FullName },
                { DiagnosticTags.FailureMode, DiagnosticTags.FailureModeName(mode ?? _state.FailureMode) },
            };
            errors.Add(1, in tags);
        }
    }

    private static LogLevel LevelOf(in PolicyDecision decision) =>
        DiagnosticTags.Verdict(decision) == PolicyOutcome.Allow ? LogLevel.Debug : LogLevel.Information;

    /// <summary>
    /// The activity is recorded once the decision is known, back-dated by the time the decision took: it is a child
    /// of the caller's current activity, and nothing the evaluator calls is left parented to an unfinished one.
    /// </summary>
    private static void Trace(ToolCall call, in PolicyDecision decision, TimeSpan elapsed)
    {
        using var activity = PolicyLayerInstruments.Source.StartActivity(PolicyLayerTelemetry.EvaluateActivityName, ActivityKind.Internal);
        if (activity is null)
        {
            return;
        }

        activity.SetStartTime(activity.StartTimeUtc - elapsed);
        activity.DisplayName = $"{PolicyLayerTelemetry.EvaluateActivityName} {call.ToolName}";
        var verdict = DiagnosticTags.Verdict(decision);
        activity.SetTag(DiagnosticTags.ToolName, call.ToolName);
        activity.SetTag(DiagnosticTags.Outcome, DiagnosticTags.OutcomeName(verdict));
        activity.SetTag(DiagnosticTags.Rule, decision.RuleId);
        activity.SetTag(DiagnosticTags.PolicyRevision, decision.PolicyRevision);
        activity.SetTag(DiagnosticTags.RiskCategory, DiagnosticTags.CategoryName(decision.Risk));
        activity.SetTag(DiagnosticTags.RiskLevel, DiagnosticTags.LevelName(decision.Risk));
        activity.SetTag(DiagnosticTags.Shadowed, DiagnosticTags.Bool(decision.IsShadowed));
        if (verdict != PolicyOutcome.Allow)
        {
            activity.SetTag(DiagnosticTags.Reason, decision.Reason);
        }

        if (decision.RetryAfter is { } retry)
        {
            activity.SetTag(DiagnosticTags.RetryAfter, retry.TotalSeconds);
        }

        if (decision.RuleId == RuleIds.Error)
        {
            activity.SetStatus(ActivityStatusCode.Error, decision.Reason);
        }
    }

    private void Log(ToolCall call, in PolicyDecision decision, TimeSpan elapsed)
    {
        var risk = DiagnosticTags.CategoryName(decision.Risk);
        var scopes = ScopeKinds(decision.Counters);
        var arguments = DescribeArguments(call.Arguments, _logArgumentValues);
        var ms = elapsed.TotalMilliseconds;
        switch (DiagnosticTags.Verdict(decision), decision.IsShadowed)
        {
            case (PolicyOutcome.Allow, false):
                PolicyLayerLog.Allowed(_logger, call.ToolName, decision.RuleId, decision.PolicyRevision ?? "", risk, scopes, arguments, ms);
                break;
            case (PolicyOutcome.Allow, true):
                PolicyLayerLog.ShadowAllowed(_logger, call.ToolName, decision.RuleId, decision.PolicyRevision ?? "", risk, scopes, arguments, ms);
                break;
            case (PolicyOutcome.RequireApproval, false):
                PolicyLayerLog.ApprovalRequired(_logger, call.ToolName, decision.RuleId, decision.PolicyRevision ?? "", decision.Reason, risk, scopes, arguments, ms);
                break;
            case (PolicyOutcome.RequireApproval, true):
                PolicyLayerLog.ShadowApprovalRequired(_logger, call.ToolName, decision.RuleId, decision.PolicyRevision ?? "", decision.Reason, risk, scopes, arguments, ms);
                break;
            case (_, false):
                PolicyLayerLog.Denied(_logger, call.ToolName, decision.RuleId, decision.PolicyRevision ?? "", decision.Reason, risk, scopes, arguments, ms);
                break;
            default:
                PolicyLayerLog.ShadowDenied(_logger, call.ToolName, decision.RuleId, decision.PolicyRevision ?? "", decision.Reason, risk, scopes, arguments, ms);
                break;
        }
    }

    /// <summary>The scope kinds (grant, session, ...) of the counters a call counted against, never the scope values.</summary>
    private static string ScopeKinds(CounterBudgetList counters)
    {
        if (counters.Count == 0)
        {
            return "none";
        }

        var seen = 0;
        var text = new StringBuilder();
        foreach (var budget in counters)
        {
            var bit = 1 << (int)budget.Counter.Scope;
            if ((seen & bit) == 0)
            {
                seen |= bit;
                text.Append(text.Length == 0 ? string.Empty : ",").Append(budget.Counter.Scope.Name());
            }
        }

        return text.ToString();
    }

    /// <summary>The argument names, or, only when the host opted in, the arguments as JSON (cut at <see cref="MaxLoggedArgumentChars"/>).</summary>
    internal static string DescribeArguments(IReadOnlyDictionary<string, JsonElement>? arguments, bool withValues)
    {
        if (arguments is null || arguments.Count == 0)
        {
            return withValues ? "{}" : "[]";
        }

        if (!withValues)
        {
            return "[" + string.Join(",", arguments.Keys) + "]";
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in arguments)
            {
                writer.WritePropertyName(name);
                if (value.ValueKind == JsonValueKind.Undefined)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    value.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        var json = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        return json.Length <= MaxLoggedArgumentChars ? json : string.Concat(json.AsSpan(0, MaxLoggedArgumentChars), "…");
    }
}
