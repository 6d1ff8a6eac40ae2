namespace PolicyLayer.Gateway;

/// <summary>How the person at the client answered an approval request, or why there is no answer.</summary>
internal enum ApprovalAnswer
{
    Accepted,
    Declined,
    Cancelled,
    TimedOut,
    Failed,
    CancelledByClient,
}
