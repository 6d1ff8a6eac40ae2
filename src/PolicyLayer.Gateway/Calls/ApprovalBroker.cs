using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace PolicyLayer.Gateway;

/// <summary>
/// Holds calls that need a person's approval, asks the person at the client through elicitation under an id of the
/// gateway's own, and forwards the call once approved and decided again. What one session may hold is bounded, in
/// calls and in bytes: past the bound a call is refused with that reason, never held.
/// </summary>
internal sealed class ApprovalBroker(
    PolicyEvaluator evaluator,
    Router router,
    PeerWriter toClient,
    ClientReplies replies,
    AuditLog? audit,
    McpGatewayOptions options,
    ILogger logger)
{
    private readonly Lock _lock = new();
    private readonly TimeSpan _timeout = options.ApprovalTimeout;
    private readonly TimeProvider _time = options.TimeProvider;
    private readonly int _maxHeld = options.MaxHeldApprovals;
    private readonly long _maxHeldBytes = options.MaxHeldApprovalBytes;
    private int _held;
    private long _heldBytes;

    /// <summary>Holds the call and sends the approval request; refuses it when the session holds as much as it may.</summary>
    public async ValueTask HoldAsync(ToolCall call, PolicyDecision held, ClientRequest request, ReadOnlyMemory<byte> text, ScannedMessage message)
    {
        var bytes = text.Length;
        string? full = null;
        lock (_lock)
        {
            if (_held >= _maxHeld)
            {
                full = $"The proxy already holds {_held} calls of this session for approval, the most it holds (--max-held-approvals); answer those first.";
            }
            else if (_heldBytes + bytes > _maxHeldBytes)
            {
                full = $"Holding this call ({bytes} bytes) would take the calls this session holds for approval past {_maxHeldBytes} bytes, the most it holds (--max-held-approval-bytes); answer those first.";
            }
            else
            {
                _held++;
                _heldBytes += bytes;
            }
        }

        PendingApproval? pending = null;
        PeerRequest? ask = null;
        if (full is null)
        {
            pending = new PendingApproval(call, held, request, text.ToArray(), message.IdStart, message.IdLength);
            ask = router.PeerRequests.TryAdd(serverIdKey: null, serverId: default, pending);
            if (ask is null)
            {
                Unhold(pending);
                full = "The proxy has as many requests to the client in flight as it allows (--max-pending-requests).";
            }
        }

        if (full is not null)
        {
            audit?.Write(call, request.ClientId, held, shadowMode: false, "not_asked_held_limit");
            router.ClientRequests.Remove(request);
            await replies.SendDeniedAsync(request.ClientId, held, full).ConfigureAwait(false);
            return;
        }

        request.Approval = pending;

        // The time-out starts before the question is sent: the person's time is counted from when they can see it at the latest.
        _ = CompleteAsync(pending!, ask!);
        await toClient.WriteAsync((Id: ask!.ClientId, Message: ApprovalMessage(call, held)), static (json, state) =>
        {
            json.WriteStartObject();
            json.WriteString("jsonrpc", "2.0");
            json.WriteNumber("id", state.Id);
            json.WriteString("method", "elicitation/create");
            json.WriteStartObject("params");
            json.WriteString("message", state.Message);
            json.WriteStartObject("requestedSchema");
            json.WriteString("type", "object");
            json.WriteStartObject("properties");
            json.WriteStartObject("approve");
            json.WriteString("type", "boolean");
            json.WriteString("title", "Approve this call");
            json.WriteString("description", "Let the agent make this tool call once.");
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteStartArray("required");
            json.WriteStringValue("approve");
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>The client answered the approval request <paramref name="ask"/>.</summary>
    public static void OnAnswer(PeerRequest ask, ReadOnlyMemory<byte> text, in ScannedMessage message) =>
        ask.Approval!.Answer(ReadAnswer(text, message));

    private async Task CompleteAsync(PendingApproval approval, PeerRequest ask)
    {
        ApprovalAnswer answer;
        try
        {
            answer = await approval.Answered.WaitAsync(_timeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            answer = ApprovalAnswer.TimedOut;
        }

        router.PeerRequests.Remove(ask);
        Unhold(approval);
        var request = approval.Request;
        try
        {
            if (answer is ApprovalAnswer.TimedOut or ApprovalAnswer.CancelledByClient)
            {
                // The person's dialog is no longer wanted.
                await router.CancelOnClientAsync(ask.ClientId, "The approval is no longer needed.").ConfigureAwait(false);
            }

            if (answer == ApprovalAnswer.CancelledByClient)
            {
                // The client cancelled its own call: JSON-RPC sends no response to a cancelled request.
                router.ClientRequests.Remove(request);
                Audit(approval.Call, request.ClientId, approval.Held, "cancelled_by_client");
                return;
            }

            if (answer != ApprovalAnswer.Accepted)
            {
                router.ClientRequests.Remove(request);
                Audit(approval.Call, request.ClientId, approval.Held, ApprovalName(answer));
                await replies.SendDeniedAsync(request.ClientId, approval.Held, ApprovalProblem(answer)).ConfigureAwait(false);
                return;
            }

            var approved = new ToolCall(approval.Call.ToolName, approval.Call.Caller, approval.Call.Arguments, approval.Call.Tool) { IsApproved = true };
            var decision = await evaluator.EvaluateAsync(approved).ConfigureAwait(false);
            Audit(approved, request.ClientId, decision, "accepted");
            request.Approval = null;
            if (decision.Outcome == PolicyOutcome.Allow)
            {
                request.Decision = decision;
                await router.ForwardRequestAsync(request, approval.Message, approval.IdStart, approval.IdLength).ConfigureAwait(false);
            }
            else
            {
                router.ClientRequests.Remove(request);
                await replies.SendDeniedAsync(request.ClientId, decision, "A person approved the call, but the policy refused it when it was made.").ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            GatewayLog.ApprovalFailed(logger, ex.Message);
        }
        catch (Exception ex)
        {
            // Fail closed: the call is refused, never forwarded undecided.
            GatewayLog.ApprovalFailed(logger, ex.Message);
            router.ClientRequests.Remove(request);
            try
            {
                await replies.SendDeniedAsync(request.ClientId, approval.Held, "The proxy failed while handling the approval.").ConfigureAwait(false);
            }
            catch (Exception inner) when (inner is IOException or ObjectDisposedException)
            {
                GatewayLog.ApprovalFailed(logger, inner.Message);
            }
        }
    }

    private void Unhold(PendingApproval approval)
    {
        lock (_lock)
        {
            _held--;
            _heldBytes -= approval.Bytes;
        }
    }

    private void Audit(ToolCall call, ReadOnlyMemory<byte> id, in PolicyDecision decision, string approval) =>
        audit?.Write(call, id, decision, shadowMode: false, approval);

    private static string ApprovalMessage(ToolCall call, PolicyDecision held)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"The agent wants to call the tool '{call.ToolName}'. {held.Reason}");
        if (call.Arguments is { Count: > 0 } arguments)
        {
            // The person needs the values to judge the call; the client sent them, so they are the client's to see.
            var json = ArgumentsJson(arguments);
            text.Append(" Arguments: ").Append(json.Length > 2000 ? string.Concat(json.AsSpan(0, 2000), "…") : json);
        }

        text.Append(" Approve this call?");
        return text.ToString();
    }

    private static string ArgumentsJson(IReadOnlyDictionary<string, JsonElement> arguments)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (name, value) in arguments)
            {
                json.WritePropertyName(name);
                value.WriteTo(json);
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static ApprovalAnswer ReadAnswer(ReadOnlyMemory<byte> text, in ScannedMessage message)
    {
        if (message.HasError)
        {
            return ApprovalAnswer.Failed;
        }

        using var document = JsonDocument.Parse(text);
        var result = document.RootElement.GetProperty("result");
        if (result.ValueKind != JsonValueKind.Object || !result.TryGetProperty("action", out var action) || action.ValueKind != JsonValueKind.String)
        {
            return ApprovalAnswer.Failed;
        }

        return action.GetString() switch
        {
            "accept" when result.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Object
                && content.TryGetProperty("approve", out var approve) && approve.ValueKind == JsonValueKind.True => ApprovalAnswer.Accepted,
            "accept" => ApprovalAnswer.Declined,
            "decline" => ApprovalAnswer.Declined,
            "cancel" => ApprovalAnswer.Cancelled,
            _ => ApprovalAnswer.Failed,
        };
    }

    private string ApprovalProblem(ApprovalAnswer answer) => answer switch
    {
        ApprovalAnswer.Declined => "The person at the client declined it.",
        ApprovalAnswer.Cancelled => "The person at the client dismissed the approval request.",
        ApprovalAnswer.TimedOut => $"Nobody answered the approval request within {_timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s.",
        _ => "The client answered the approval request with an error.",
    };

    private static string ApprovalName(ApprovalAnswer answer) => answer switch
    {
        ApprovalAnswer.Declined => "declined",
        ApprovalAnswer.Cancelled => "cancelled",
        ApprovalAnswer.TimedOut => "timed_out",
        _ => "failed",
    };
}
