namespace PolicyLayer;

/// <summary>What became of an answer given to a held call (<see cref="ApprovalStore.DecideAsync"/>).</summary>
public enum ApprovalDecisionResult
{
    /// <summary>The answer was recorded: the record was pending and is now approved or denied.</summary>
    Decided = 0,

    /// <summary>No record has this id (never held, or forgotten after it expired).</summary>
    NotFound = 1,

    /// <summary>The record was answered already; each record takes one answer.</summary>
    AlreadyDecided = 2,

    /// <summary>The record expired before the answer came.</summary>
    Expired = 3,
}
