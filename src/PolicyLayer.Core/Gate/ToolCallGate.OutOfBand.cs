using System.Globalization;
using Microsoft.Extensions.Logging;

namespace PolicyLayer.Gate;

/// <summary>Out-of-band approvals: a held call goes to the <see cref="ApprovalInbox"/>, and waits there or is refused with its approval id.</summary>
internal sealed partial class ToolCallGate
{
    /// <summary>Null when approved (the approval is spent); else the refusal.</summary>
    private async ValueTask<GateVerdict?> ApproveOutOfBandAsync(ApprovalInbox inbox, GateCall request, PolicyDecision held, IGateClient client, CancellationToken cancellationToken)
    {
        var call = request.Call;
        if (request.ApprovalId is { } retried)
        {
            return await UseApprovalAsync(inbox, call, held, retried, client, cancellationToken).ConfigureAwait(false);
        }

        var (record, problem) = await inbox.HoldAsync(call, held, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            client.ApprovalEnded("impossible", null);
            return Refuse(call, held, RefusalKind.ApprovalImpossible, "The call cannot be held: " + problem);
        }

        var mode = inbox.ModeFor(call.ToolName);
        if (mode == ApprovalHoldMode.Auto)
        {
            mode = client.CanReportProgress ? ApprovalHoldMode.Wait : ApprovalHoldMode.RefuseWithId;
        }

        if (mode == ApprovalHoldMode.RefuseWithId)
        {
            client.ApprovalEnded("pending", record);
            return RefusePending(call, held, record.Id);
        }

        var progress = 0;
        while (true)
        {
            var current = await inbox.Store.GetAsync(record.Id, cancellationToken).ConfigureAwait(false);
            var now = inbox.Time.GetUtcNow();
            if (current is null || current.StatusAt(now) != ApprovalStatus.Pending)
            {
                return await SettleAnsweredAsync(inbox, call, held, record.Id, current, client, cancellationToken).ConfigureAwait(false);
            }

            if (client.CanReportProgress)
            {
                try
                {
                    await client.ReportProgressAsync(++progress, "Waiting for a person's approval in the approvals inbox (" + record.Id + ").", cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    LogProgressFailed(_logger, call.ToolName, ex);
                }
            }

            var left = current.ExpiresAt - now;
            await inbox.Store.WaitForChangeAsync(record.Id, left < inbox.ProgressInterval ? left : inbox.ProgressInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A retry that brings an approval id: allowed once, when the id names an approved record for this very call.</summary>
    private async ValueTask<GateVerdict?> UseApprovalAsync(ApprovalInbox inbox, ToolCall call, PolicyDecision held, string id, IGateClient client, CancellationToken cancellationToken)
    {
        var record = await inbox.Store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            client.ApprovalEnded("invalid", null);
            return Refuse(call, held, RefusalKind.ApprovalInvalid, "The approval id sent with this call is unknown (never issued, or forgotten after it expired).");
        }

        if (!string.Equals(record.Fingerprint, inbox.FingerprintOf(call), StringComparison.Ordinal))
        {
            // Another call's record: none of it belongs in this call's audit line.
            client.ApprovalEnded("invalid", null);
            return Refuse(call, held, RefusalKind.ApprovalInvalid, "The approval id sent with this call was issued for another call (the tool, the arguments or the caller differ).");
        }

        if (record.StatusAt(inbox.Time.GetUtcNow()) == ApprovalStatus.Pending)
        {
            client.ApprovalEnded("pending", record);
            return RefusePending(call, held, id);
        }

        return await SettleAnsweredAsync(inbox, call, held, id, record, client, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Acts on a record that is no longer pending: spends an approval (null: go ahead), or refuses.</summary>
    private async ValueTask<GateVerdict?> SettleAnsweredAsync(ApprovalInbox inbox, ToolCall call, PolicyDecision held, string id, ApprovalRecord? record, IGateClient client, CancellationToken cancellationToken)
    {
        switch (record?.StatusAt(inbox.Time.GetUtcNow()))
        {
            case ApprovalStatus.Approved:
                if (await inbox.Store.TryUseAsync(id, cancellationToken).ConfigureAwait(false))
                {
                    client.ApprovalEnded("accepted", record);
                    return null;
                }

                return RefuseUsed(call, held, record, client);
            case ApprovalStatus.Denied:
                client.ApprovalEnded("declined", record);
                return Refuse(call, held, RefusalKind.ApprovalDeclined, record.DecidedBy + " declined the call" + (record.Note is { } note ? ": " + note : "."));
            case ApprovalStatus.Used:
                return RefuseUsed(call, held, record, client);
            default:
                client.ApprovalEnded("timed_out", record);
                return Refuse(call, held, RefusalKind.ApprovalTimedOut, string.Create(CultureInfo.InvariantCulture, $"Nobody answered in the approvals inbox within {inbox.Timeout.TotalSeconds:0.###} s."));
        }
    }

    /// <summary>The refusal of an approval already spent (by another call, or by a retry that got there first).</summary>
    private GateVerdict RefuseUsed(ToolCall call, PolicyDecision held, ApprovalRecord record, IGateClient client)
    {
        client.ApprovalEnded("invalid", record);
        return Refuse(call, held, RefusalKind.ApprovalInvalid, "This approval was already used: each approval allows one call. Call the tool again to ask for a new one.");
    }

    private GateVerdict RefusePending(ToolCall call, PolicyDecision held, string id)
    {
        var refusal = GateRefusal.ForPendingApproval(call.ToolName, held, id);
        LogRefused(_logger, call.ToolName, refusal.RuleId, refusal.Reason);
        return GateVerdict.Refused(held, refusal);
    }

    [LoggerMessage(5, LogLevel.Debug, "PolicyLayer could not send a progress notification for a held call of {Tool}")]
    private static partial void LogProgressFailed(ILogger logger, string tool, Exception exception);
}
