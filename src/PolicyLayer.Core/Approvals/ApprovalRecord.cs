namespace PolicyLayer;

/// <summary>
/// One call held for an out-of-band approval: bound to the exact call (tool, canonical arguments, caller) through
/// <see cref="Fingerprint"/>, answered once, and spent by the one call it allows.
/// </summary>
public sealed class ApprovalRecord
{
    /// <summary>The record's id: random, unguessable, and what an agent sends back in <c>_meta["policylayer/approval"]</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The tool that was called.</summary>
    public required string ToolName { get; init; }

    /// <summary>The complete arguments, as canonical JSON (keys sorted, indented), never cut.</summary>
    public required string ArgumentsJson { get; init; }

    /// <summary>The SHA-256 (hex) of the tool, the canonical arguments and the caller: an approval allows only the call it was asked for.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>The caller's grant, if any.</summary>
    public string? GrantId { get; init; }

    /// <summary>The person behind the agent, if known.</summary>
    public string? UserId { get; init; }

    /// <summary>The client application, if known.</summary>
    public string? AgentId { get; init; }

    /// <summary>The rule that held the call.</summary>
    public required string RuleId { get; init; }

    /// <summary>Why the policy wants a person's approval.</summary>
    public required string Reason { get; init; }

    /// <summary>The revision of the policy that held the call.</summary>
    public string? PolicyRevision { get; init; }

    /// <summary>When the call was held.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the record expires: a pending record can no longer be answered, an approved one no longer used.</summary>
    public DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Where the record stands, as stored (see <see cref="StatusAt"/> for expiry).</summary>
    public ApprovalStatus Status { get; init; }

    /// <summary>Who answered: the authenticated user of the inbox, or the name a signed webhook callback gave.</summary>
    public string? DecidedBy { get; init; }

    /// <summary>When the record was answered.</summary>
    public DateTimeOffset? DecidedAt { get; init; }

    /// <summary>The note the person gave with the answer, if any; a denial's note is shown to the agent.</summary>
    public string? Note { get; init; }

    /// <summary>The status at <paramref name="now"/>: a pending or approved record past <see cref="ExpiresAt"/> is expired.</summary>
    /// <param name="now">The store's clock.</param>
    /// <returns>The effective status.</returns>
    public ApprovalStatus StatusAt(DateTimeOffset now) =>
        Status is ApprovalStatus.Pending or ApprovalStatus.Approved && now >= ExpiresAt ? ApprovalStatus.Expired : Status;

    /// <summary>A copy with the answer recorded.</summary>
    internal ApprovalRecord Answered(bool approve, string decidedBy, string? note, DateTimeOffset at) => Copy(
        approve ? ApprovalStatus.Approved : ApprovalStatus.Denied, decidedBy, at, note);

    /// <summary>The record as of <paramref name="now"/>: itself, or a copy marked expired.</summary>
    internal ApprovalRecord AsOf(DateTimeOffset now) => StatusAt(now) is var status && status == Status ? this : Copy(status, DecidedBy, DecidedAt, Note);

    /// <summary>A copy marked as spent.</summary>
    internal ApprovalRecord Spent() => Copy(ApprovalStatus.Used, DecidedBy, DecidedAt, Note);

    private ApprovalRecord Copy(ApprovalStatus status, string? decidedBy, DateTimeOffset? decidedAt, string? note) => new()
    {
        Id = Id,
        ToolName = ToolName,
        ArgumentsJson = ArgumentsJson,
        Fingerprint = Fingerprint,
        GrantId = GrantId,
        UserId = UserId,
        AgentId = AgentId,
        RuleId = RuleId,
        Reason = Reason,
        PolicyRevision = PolicyRevision,
        CreatedAt = CreatedAt,
        ExpiresAt = ExpiresAt,
        Status = status,
        DecidedBy = decidedBy,
        DecidedAt = decidedAt,
        Note = note,
    };
}
