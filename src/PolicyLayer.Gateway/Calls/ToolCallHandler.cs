using System.Text.Json;
using Microsoft.Extensions.Logging;
using PolicyLayer.Gate;

namespace PolicyLayer.Gateway;

/// <summary>
/// The relay's side of the shared gate (<see cref="ToolCallGate"/>) for one tools/call: reads the call off the client's
/// message, adds the server's descriptor from the catalogue, lets the gate decide (and ask for approval through
/// <see cref="RelayGateClient"/>), then forwards the call or sends the gate's refusal. When the server answers, the gate
/// settles the call (a failed call gives its units back). The relay decides nothing itself.
/// </summary>
internal sealed class ToolCallHandler(
    ToolCallGate gate,
    ToolCatalogue catalogue,
    HeldApprovals held,
    Router router,
    PeerWriter toClient,
    ClientReplies replies,
    AuditLog? audit,
    ILogger logger)
{
    /// <summary>The audit <c>kind</c> of an admitted call.</summary>
    internal const string AllowedKind = "allowed";

    /// <summary>The audit <c>kind</c> of a call held for approval that shadow mode let through unasked.</summary>
    internal const string ApprovalRequiredKind = "approval_required";

    /// <summary>The audit <c>kind</c> of a held call the client cancelled before anyone decided.</summary>
    internal const string CancelledKind = "cancelled";

    /// <summary>
    /// Decides the call <paramref name="request"/> (already in flight under the client's id) and acts on the verdict.
    /// <paramref name="text"/> is the message, owned by the call (it may wait for an approval). Never throws: a failure
    /// refuses the call.
    /// </summary>
    public async Task HandleAsync(byte[] text, ScannedMessage message, ClientRequest request, CallerIdentity caller, bool clientCanElicit)
    {
        try
        {
            await DecideAndActAsync(text, message, request, caller, clientCanElicit).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            GatewayLog.ConnectionClosed(logger, ex.Message);
        }
        catch (Exception ex)
        {
            // Fail closed: the call is refused, never forwarded undecided.
            GatewayLog.RefusedAfterInternalError(logger, ex.Message);
            router.ClientRequests.Remove(request);
            await replies.SendErrorAsync(request.ClientId, ClientReplies.InternalErrorCode, "Internal error in the policy proxy; the call was not forwarded.").ConfigureAwait(false);
        }
    }

    /// <summary>The server answered a forwarded call: the gate settles it (a failed call gives its units back).</summary>
    public ValueTask OnAnsweredAsync(ClientRequest request, bool failed) =>
        request.Verdict is { } verdict ? gate.SettleAsync(verdict, failed ? ToolRunOutcome.Failed : ToolRunOutcome.Succeeded) : ValueTask.CompletedTask;

    private async Task DecideAndActAsync(byte[] text, ScannedMessage message, ClientRequest request, CallerIdentity caller, bool clientCanElicit)
    {
        var parameters = message.ParamsType == JsonTokenType.StartObject ? ParseParams(text, message) : default;
        if (!GateCall.TryRead(parameters, caller, tools: null, out var read, out var problem))
        {
            router.ClientRequests.Remove(request);
            await replies.SendErrorAsync(request.ClientId, ClientReplies.InvalidParamsCode, problem!).ConfigureAwait(false);
            return;
        }

        var toolName = read!.Call.ToolName;
        var (tools, toolsProblem) = await catalogue.GetAsync().ConfigureAwait(false);
        if (tools is null)
        {
            // Fail closed: without the server's descriptors the classifier could be misled by a name alone.
            GatewayLog.CallNotClassified(logger, toolName, toolsProblem!);
            var undecidable = GateRefusal.ForError(toolName);
            Audit(new AuditEntry(read.Call, request.ClientId, PolicyOutcome.Deny, GateRefusal.KindName(undecidable.Kind), undecidable.RuleId, toolsProblem!, null));
            if (gate.Evaluator.ShadowMode)
            {
                await router.ForwardRequestAsync(request, text, message.IdStart, message.IdLength).ConfigureAwait(false);
                return;
            }

            router.ClientRequests.Remove(request);
            await replies.SendRefusalAsync(request.ClientId, undecidable).ConfigureAwait(false);
            return;
        }

        var call = new GateCall(new ToolCall(toolName, caller, read.Call.Arguments, tools.GetValueOrDefault(toolName)), read.ArgumentProblem)
        {
            ApprovalId = read.ApprovalId,
        };

        // stdio (and any relay with a channel back to the client) carries the gate's requests while the call is held.
        var features = GateClientFeatures.ServerRequests | (clientCanElicit ? GateClientFeatures.Elicitation : GateClientFeatures.None);
        var client = new RelayGateClient(features, request, text.Length, held, router, toClient, ProgressToken(parameters));
        GateVerdict verdict;
        using (var deciding = new CancellationTokenSource())
        {
            request.Deciding = deciding;
            try
            {
                verdict = await gate.DecideAsync(call, client, request.CancelledByClient ? new CancellationToken(canceled: true) : deciding.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The client cancelled its call while it was held: JSON-RPC sends no answer to a cancelled request.
                router.ClientRequests.Remove(request);
                Audit(new AuditEntry(call.Call, request.ClientId, PolicyOutcome.RequireApproval, CancelledKind, RuleIds.Error, "The client cancelled the call before it was decided.", null, "cancelled_by_client"));
                return;
            }
            finally
            {
                request.Deciding = null;
            }
        }

        Audit(call.Call, request.ClientId, verdict, client);
        if (verdict.IsAdmitted)
        {
            if (request.CancelledByClient)
            {
                router.ClientRequests.Remove(request);
                await gate.SettleAsync(verdict, ToolRunOutcome.NotStarted).ConfigureAwait(false);
                return;
            }

            request.Verdict = verdict;
            verdict.MarkToolStarted();
            await router.ForwardRequestAsync(request, text, message.IdStart, message.IdLength).ConfigureAwait(false);
            return;
        }

        router.ClientRequests.Remove(request);
        await replies.SendRefusalAsync(request.ClientId, verdict.Refusal ?? GateRefusal.ForError(toolName)).ConfigureAwait(false);
    }

    private void Audit(ToolCall call, ReadOnlyMemory<byte> id, GateVerdict verdict, RelayGateClient client)
    {
        if (audit is null)
        {
            return;
        }

        var approval = client.Approval;

        var decision = verdict.Decision;
        if (verdict.Refusal is { } refusal)
        {
            var retry = refusal.RetryAfterSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
            Audit(new AuditEntry(
                call, id, refusal.Outcome, GateRefusal.KindName(refusal.Kind), refusal.RuleId, refusal.Reason, retry, approval, decision.IsShadowed, Risk: decision.Risk,
                ApprovalId: client.ApprovalId, DecidedBy: client.DecidedBy));
            return;
        }

        // A shadowed refusal is recorded as what it would have been; its kind says so.
        var kind = decision.ShadowedOutcome is { } would && would != PolicyOutcome.Allow ? ShadowKind(decision) : AllowedKind;
        Audit(new AuditEntry(
            call, id, decision.ShadowedOutcome ?? decision.Outcome, kind, decision.RuleId, decision.Reason, decision.RetryAfter, approval, decision.IsShadowed,
            Risk: decision.Risk, Counters: decision.Counters, ApprovalId: client.ApprovalId, DecidedBy: client.DecidedBy));
    }

    /// <summary>The kind a shadowed refusal would have had.</summary>
    private static string ShadowKind(in PolicyDecision decision) =>
        decision.ShadowedOutcome == PolicyOutcome.RequireApproval
            ? ApprovalRequiredKind
            : GateRefusal.KindName(GateRefusal.KindOf(decision));

    private void Audit(in AuditEntry entry) =>
        audit?.Write(entry with { Shadowed = entry.Shadowed || gate.Evaluator.ShadowMode, PolicyRevision = gate.Evaluator.Policy.Revision });

    // The raw progressToken of params._meta (a string or a number), for progress notifications while the call waits.
    private static string? ProgressToken(JsonElement parameters) =>
        parameters.ValueKind == JsonValueKind.Object
        && parameters.TryGetProperty("_meta", out var meta) && meta.ValueKind == JsonValueKind.Object
        && meta.TryGetProperty("progressToken", out var token) && token.ValueKind is JsonValueKind.String or JsonValueKind.Number
            ? token.GetRawText()
            : null;

    private static JsonElement ParseParams(byte[] text, in ScannedMessage message)
    {
        var reader = new Utf8JsonReader(message.Params(text).Span);
        return JsonElement.ParseValue(ref reader);
    }
}
