using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using PolicyLayer.Gate;

namespace PolicyLayer.Cli.Audit;

/// <summary>
/// Decides the calls of an audit log again, in order, under another policy, on a fake clock set to each call's recorded
/// time and with fresh counters, as that policy would have decided them had it been enforced instead; and compares
/// each decision with the recorded one.
/// </summary>
/// <remarks>
/// What a recorded call holds decides how faithfully it can be replayed: its caller (session, agent, user, grant), its
/// tool and the tool's recorded risk, and its argument values only when the log was written with
/// <c>--audit-arguments</c>. A call with arguments whose values were not recorded cannot be decided again and is
/// reported as such. Claims are not recorded, so <c>caller.claims</c> conditions see none. A call allowed under the
/// new policy is counted as having run and succeeded (the log does not say whether the tool failed), and one that the
/// recorded run had approved is approved again when the new policy also asks for approval.
/// </remarks>
internal sealed class AuditReplay : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly PolicyEvaluator _evaluator;
    private readonly RecordedRisks _risks = new();
    private bool _started;

    public AuditReplay(PolicyDocument policy)
    {
        _evaluator = new PolicyEvaluator(policy, new PolicyEvaluatorOptions { TimeProvider = _time, Classifier = _risks });
    }

    public string? PolicyRevision => _evaluator.Policy.Revision;

    /// <summary>Decides <paramref name="record"/> again.</summary>
    public async ValueTask<ReplayedCall> ReplayAsync(AuditRecord record, CancellationToken cancellationToken)
    {
        if (!_started || record.Time > _time.GetUtcNow())
        {
            // The clock only moves forward: lines of concurrent calls may be out of order by a millisecond.
            _time.SetUtcNow(record.Time);
            _started = true;
        }

        var recorded = Verdict.OfRecord(record);
        IReadOnlyDictionary<string, JsonElement>? arguments;
        if (record.Arguments is { } values)
        {
            arguments = values.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
        }
        else if (record.ArgumentKeys.Count == 0)
        {
            arguments = null;
        }
        else
        {
            return new ReplayedCall(record, recorded, null, "its argument values were not recorded (write the log with --audit-arguments)");
        }

        if (record.Risk is { } risk)
        {
            _risks.Remember(record.Tool, risk);
        }

        var caller = new CallerIdentity { SessionId = record.Session, AgentId = record.Agent, UserId = record.User, GrantId = record.Grant };
        var call = new ToolCall(record.Tool, caller, arguments);
        var decision = await _evaluator.EvaluateAsync(call, cancellationToken).ConfigureAwait(false);
        if (decision.Outcome == PolicyOutcome.RequireApproval && record.Approval == "accepted")
        {
            // The recorded run's person approved this call; the new policy asks too, so it is approved again and counted as such.
            var approved = await _evaluator.EvaluateAsync(new ToolCall(record.Tool, caller, arguments) { IsApproved = true }, cancellationToken).ConfigureAwait(false);
            return new ReplayedCall(record, recorded, approved.IsAllowed ? Verdict.Approval(decision.RuleId) : Verdict.Of(approved), null);
        }

        return new ReplayedCall(record, recorded, Verdict.Of(decision), null);
    }

    public void Dispose() => _evaluator.Dispose();

    /// <summary>The classifier of the replay: each tool's risk as the recorded run classified it (with its server's descriptor), else by name.</summary>
    private sealed class RecordedRisks : ToolRiskClassifier
    {
        private readonly Dictionary<string, RiskCategory> _risks = new(StringComparer.Ordinal);

        public void Remember(string tool, string risk)
        {
            if (!_risks.ContainsKey(tool) && Enum.TryParse<RiskCategory>(risk, ignoreCase: true, out var category))
            {
                _risks[tool] = category;
            }
        }

        public override RiskProfile Classify(ToolDescriptor tool) =>
            _risks.TryGetValue(tool.Name, out var category)
                ? new RiskProfile(category, RiskProfile.DefaultLevel(category), ["the risk recorded in the audit log"])
                : base.Classify(tool);
    }
}

/// <summary>One call decided again: the recorded verdict, the new one (null when it could not be decided), and why not.</summary>
internal sealed record ReplayedCall(AuditRecord Record, Verdict Recorded, Verdict? Replayed, string? NotDecided)
{
    public bool Differs => Replayed is { } replayed && !replayed.SameAs(Recorded);
}

/// <summary>A verdict as replay compares them: allow, require_approval, or deny with its kind; and the rule that decided.</summary>
internal sealed record Verdict(string Outcome, string? Kind, string Rule)
{
    public bool SameAs(Verdict other) => Outcome == other.Outcome && Kind == other.Kind;

    public static Verdict OfRecord(AuditRecord record) =>
        record.Approval == "accepted" || record.Outcome == "require_approval"
            ? new Verdict("require_approval", null, record.Rule)
            : record.Outcome == "allow"
                ? new Verdict("allow", null, record.Rule)
                : new Verdict("deny", record.Kind, record.Rule);

    public static Verdict Of(in PolicyDecision decision) => decision.Outcome switch
    {
        PolicyOutcome.Allow => new Verdict("allow", null, decision.RuleId),
        PolicyOutcome.RequireApproval => new Verdict("require_approval", null, decision.RuleId),
        _ => new Verdict("deny", GateRefusal.KindName(GateRefusal.KindOf(decision)), decision.RuleId),
    };

    public static Verdict Approval(string rule) => new("require_approval", null, rule);

    public override string ToString() => Kind is null ? $"{Outcome} by {Rule}" : $"{Outcome} ({Kind}) by {Rule}";
}
