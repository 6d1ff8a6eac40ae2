namespace PolicyLayer;

/// <summary>Where an out-of-band approval stands.</summary>
public enum ApprovalStatus
{
    /// <summary>The call is held; nobody has answered yet.</summary>
    Pending = 0,

    /// <summary>A person approved the call; the call has not yet gone ahead.</summary>
    Approved = 1,

    /// <summary>A person denied the call.</summary>
    Denied = 2,

    /// <summary>Nobody answered, or the approved call did not come, before the record expired.</summary>
    Expired = 3,

    /// <summary>The approved call went ahead: the approval is spent and allows nothing more.</summary>
    Used = 4,
}
