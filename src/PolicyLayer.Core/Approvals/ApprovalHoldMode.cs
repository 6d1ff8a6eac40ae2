namespace PolicyLayer;

/// <summary>What happens to a call held for an out-of-band approval (the inbox, a webhook) while nobody has answered.</summary>
public enum ApprovalHoldMode
{
    /// <summary>
    /// <see cref="Wait"/> when the client asked for progress notifications (its tools/call carries a
    /// <c>_meta.progressToken</c>), so that it can be kept waiting; else <see cref="RefuseWithId"/>.
    /// </summary>
    Auto = 0,

    /// <summary>
    /// The call waits for the answer, up to the approval time-out, and the client is sent a progress notification at
    /// every progress interval so that its request stays alive. Approved, the call goes ahead; else it is refused.
    /// </summary>
    Wait = 1,

    /// <summary>
    /// The call is refused at once with an approval id (in the text and in <c>_meta["policylayer/decision"].approvalId</c>);
    /// once a person has approved it, the agent calls the tool again with the same arguments and
    /// <c>_meta["policylayer/approval"]</c> set to the id, and that call goes ahead once.
    /// </summary>
    RefuseWithId = 2,
}
