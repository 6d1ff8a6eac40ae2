using System.Text.Json;

namespace PolicyLayer.Cli.Audit;

/// <summary>One line of an audit log (docs/audit.schema.json), as read back.</summary>
internal sealed class AuditRecord
{
    /// <summary>The line's number in its file, from 1, for messages.</summary>
    public required int Line { get; init; }

    public required DateTimeOffset Time { get; init; }

    public required string Session { get; init; }

    public string? Agent { get; init; }

    public string? User { get; init; }

    public string? Grant { get; init; }

    /// <summary>The client's request id as raw JSON, or null.</summary>
    public string? Id { get; init; }

    public required string Tool { get; init; }

    public string? Risk { get; init; }

    /// <summary><c>allow</c>, <c>deny</c> or <c>require_approval</c>.</summary>
    public required string Outcome { get; init; }

    public required string Kind { get; init; }

    public required bool Shadowed { get; init; }

    public required string Rule { get; init; }

    public string? PolicyRevision { get; init; }

    public required string Reason { get; init; }

    public string? Approval { get; init; }

    public IReadOnlyList<AuditCounter> Counters { get; init; } = [];

    public IReadOnlyList<string> ArgumentKeys { get; init; } = [];

    /// <summary>The recorded argument values, when the log was written with <c>--audit-arguments</c>.</summary>
    public JsonElement? Arguments { get; init; }

    /// <summary>What became of the call, for the summaries: it ran, or it was refused (and how).</summary>
    public AuditResult Result => Shadowed
        ? Kind == "allowed" ? AuditResult.Allowed : AuditResult.ShadowRefused
        : Kind switch
        {
            "allowed" => AuditResult.Allowed,
            "approval_declined" or "approval_timed_out" or "approval_invalid" or "approval_impossible" or "cancelled" => AuditResult.ApprovalNotGiven,
            "error" => AuditResult.Error,
            _ => AuditResult.Refused,
        };

    /// <summary>Who called, as one label: the user, else the agent, with the grant.</summary>
    public string Caller
    {
        get
        {
            var who = User ?? Agent ?? "(unknown)";
            return Grant is null ? who : $"{who} [grant {Grant}]";
        }
    }
}

/// <summary>One counter of an audit line: what the call reserved and what was left.</summary>
internal sealed record AuditCounter(string Name, string Scope, long Reserved, long Remaining, long Max, double WindowSeconds)
{
    /// <summary>The share of the window's budget in use after the call, 0 to 1.</summary>
    public double Used => Max <= 0 ? 0 : Math.Clamp((double)(Max - Remaining) / Max, 0, 1);

    public string Label => $"{Name} (per {Scope})";
}

/// <summary>What became of a call, as the summaries group them.</summary>
internal enum AuditResult
{
    /// <summary>It ran (allowed, approved, or shadow mode with nothing to refuse).</summary>
    Allowed,

    /// <summary>The policy refused it: denied, a limit, invalid arguments.</summary>
    Refused,

    /// <summary>It needed a person's approval, which was not given.</summary>
    ApprovalNotGiven,

    /// <summary>Shadow mode let it run; the policy would have refused it.</summary>
    ShadowRefused,

    /// <summary>It could not be decided and was refused (fail closed).</summary>
    Error,
}
