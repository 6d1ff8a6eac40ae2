namespace PolicyLayer;

/// <summary>
/// Tells someone that a call is held for approval: a webhook, a chat message, a ticket. Notified once per held call,
/// after the record is stored; the answer comes back through <see cref="ApprovalInbox.DecideAsync"/>.
/// </summary>
public interface IApprovalNotifier
{
    /// <summary>Announces a pending record. A failure is logged and does not refuse the call: the inbox still shows it.</summary>
    /// <param name="record">The held call, pending.</param>
    /// <param name="cancellationToken">Cancels the announcement.</param>
    ValueTask NotifyAsync(ApprovalRecord record, CancellationToken cancellationToken);
}
