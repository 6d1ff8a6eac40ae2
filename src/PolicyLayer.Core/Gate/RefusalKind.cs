namespace PolicyLayer.Gate;

/// <summary>What happened to a refused call, as the agent is told in <c>kind</c>: what it can do next depends on it.</summary>
internal enum RefusalKind
{
    /// <summary>The policy denies the call (a deny rule, <c>hide</c>, a <c>deny_if</c> that matched, the default). Retrying is pointless.</summary>
    Denied,

    /// <summary>An argument is missing or wrong (a <c>require</c>, a condition or amount that could not read its argument, ambiguous names). Fix and retry.</summary>
    InvalidArguments,

    /// <summary>A rate limit has no room now. Retry after the time given.</summary>
    RateLimited,

    /// <summary>A spend cap (a limit counted from an argument) has no room for this amount. Retry later, or ask for less.</summary>
    SpendCapReached,

    /// <summary>The person asked declined (or dismissed) the call. The agent may ask again by calling again.</summary>
    ApprovalDeclined,

    /// <summary>Nobody answered the approval request in time. The agent may ask again by calling again.</summary>
    ApprovalTimedOut,

    /// <summary>The approval sent with a retried call was not valid (used, expired, not issued for this call). Call again for a new one.</summary>
    ApprovalInvalid,

    /// <summary>
    /// The call waits in the approvals inbox for an out-of-band answer. The agent calls again with the approval id in
    /// <c>_meta["policylayer/approval"]</c> once a person has approved it.
    /// </summary>
    ApprovalPending,

    /// <summary>Approval is required and nobody can be asked from this client. Retrying the same way is pointless.</summary>
    ApprovalImpossible,

    /// <summary>The policy could not be evaluated (fail closed). Retrying later may work.</summary>
    Error,
}
