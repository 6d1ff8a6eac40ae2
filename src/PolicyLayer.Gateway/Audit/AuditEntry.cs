namespace PolicyLayer.Gateway;

/// <summary>
/// One line of the audit log. <paramref name="Outcome"/> is the policy's verdict; when <paramref name="Shadowed"/>, it is
/// the outcome that would have applied, and the call went ahead regardless. <paramref name="Kind"/> is the refusal's
/// kind (<c>GateRefusal.KindName</c>) or <c>allowed</c>; <paramref name="Counters"/> are the budgets the call reserved.
/// <paramref name="ApprovalId"/> and <paramref name="DecidedBy"/> name the approvals inbox's record and who answered it.
/// </summary>
internal readonly record struct AuditEntry(
    ToolCall Call,
    ReadOnlyMemory<byte> Id,
    PolicyOutcome Outcome,
    string Kind,
    string Rule,
    string Reason,
    TimeSpan? RetryAfter,
    string? Approval = null,
    bool Shadowed = false,
    string? PolicyRevision = null,
    RiskProfile? Risk = null,
    CounterBudgetList Counters = default,
    string? ApprovalId = null,
    string? DecidedBy = null);
