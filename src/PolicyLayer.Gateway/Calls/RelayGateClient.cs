using System.Text.Json;
using PolicyLayer.Gate;

namespace PolicyLayer.Gateway;

/// <summary>
/// The client of one tools/call as the gate sees it through the relay: what it declared, and an approval request sent as
/// <c>elicitation/create</c> under an id of the gateway's own. The call is held (and counted against the session's
/// bound) only while the question is open; a question no longer wanted is withdrawn with <c>notifications/cancelled</c>.
/// </summary>
internal sealed class RelayGateClient(GateClientFeatures features, ClientRequest request, int callBytes, HeldApprovals held, Router router, PeerWriter toClient, string? progressToken = null) : IGateClient
{
    public GateClientFeatures Features => features;

    public bool CanReportProgress => progressToken is not null;

    public async ValueTask ReportProgressAsync(double progress, string message, CancellationToken cancellationToken)
    {
        if (progressToken is null)
        {
            return;
        }

        await toClient.WriteAsync((progressToken, progress, message), static (json, state) =>
        {
            json.WriteStartObject();
            json.WriteString("jsonrpc", "2.0");
            json.WriteString("method", "notifications/progress");
            json.WriteStartObject("params");
            json.WritePropertyName("progressToken");
            json.WriteRawValue(state.progressToken, skipInputValidation: true);
            json.WriteNumber("progress", state.progress);
            json.WriteString("message", state.message);
            json.WriteEndObject();
            json.WriteEndObject();
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What became of the approval request, for the audit log; <see langword="null"/> when none was needed.</summary>
    public string? Approval { get; private set; }

    /// <summary>For an approval in the approvals inbox: its record's id, for the audit log; else <see langword="null"/>.</summary>
    public string? ApprovalId { get; private set; }

    /// <summary>For an approval a person answered in the approvals inbox: who, for the audit log; else <see langword="null"/>.</summary>
    public string? DecidedBy { get; private set; }

    public void ApprovalEnded(string outcome, ApprovalRecord? record)
    {
        Approval = outcome;
        ApprovalId = record?.Id;
        DecidedBy = record?.DecidedBy;
    }

    public async ValueTask<JsonElement> ElicitAsync(JsonElement parameters, CancellationToken cancellationToken)
    {
        if (held.TryHold(callBytes) is { } full)
        {
            Approval = "not_asked_held_limit";
            throw new GateClientException(full);
        }

        try
        {
            var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (router.PeerRequests.TryAdd(serverIdKey: null, serverId: default, answer) is not { } ask)
            {
                Approval = "not_asked_held_limit";
                throw new GateClientException("the proxy has as many requests to the client in flight as it allows (--max-pending-requests).");
            }

            try
            {
                await toClient.WriteAsync((ask.ClientId, parameters), static (json, state) =>
                {
                    json.WriteStartObject();
                    json.WriteString("jsonrpc", "2.0");
                    json.WriteNumber("id", state.ClientId);
                    json.WriteString("method", "elicitation/create");
                    json.WritePropertyName("params");
                    state.parameters.WriteTo(json);
                    json.WriteEndObject();
                }, CancellationToken.None).ConfigureAwait(false);

                var result = await answer.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                Approval = ApprovalName(result);
                return result;
            }
            catch (OperationCanceledException)
            {
                // Timed out, or the client cancelled its call: the person's dialog is no longer wanted.
                router.PeerRequests.Remove(ask);
                Approval = request.CancelledByClient ? "cancelled_by_client" : "timed_out";
                await router.CancelOnClientAsync(ask.ClientId, "The approval is no longer needed.").ConfigureAwait(false);
                throw;
            }
            catch (GateClientException)
            {
                Approval = "failed";
                throw;
            }
        }
        finally
        {
            held.Release(callBytes);
        }
    }

    private static string ApprovalName(JsonElement result)
    {
        if (result.ValueKind != JsonValueKind.Object || !result.TryGetProperty("action", out var action) || action.ValueKind != JsonValueKind.String)
        {
            return "failed";
        }

        return action.GetString() switch
        {
            "accept" when result.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Object
                && content.TryGetProperty("approve", out var approve) && approve.ValueKind == JsonValueKind.True => "accepted",
            "accept" or "decline" => "declined",
            "cancel" => "cancelled",
            _ => "failed",
        };
    }
}
