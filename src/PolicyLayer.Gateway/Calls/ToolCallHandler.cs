using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace PolicyLayer.Gateway;

/// <summary>
/// Decides one tools/call of the client: reads its name and arguments, finds the server's descriptor, asks the
/// evaluator, and forwards the call, holds it for approval, or refuses it. A forwarded call's reservation is given back
/// when the server's answer says the call failed.
/// </summary>
internal sealed class ToolCallHandler(
    PolicyEvaluator evaluator,
    ToolCatalogue catalogue,
    ApprovalBroker approvals,
    Router router,
    ClientReplies replies,
    AuditLog? audit,
    bool shadowMode,
    ILogger logger)
{
    /// <summary>Decides the call <paramref name="request"/> (already in flight under the client's id) and acts on the decision.</summary>
    public async ValueTask HandleAsync(ReadOnlyMemory<byte> text, ScannedMessage message, ClientRequest request, CallerIdentity caller, bool clientCanElicit)
    {
        var id = request.ClientId;
        if (message.ParamsType != JsonTokenType.StartObject)
        {
            await RefuseAsync(request, ClientReplies.InvalidParamsCode, "Invalid params: tools/call needs params with a name.").ConfigureAwait(false);
            return;
        }

        var parameters = ParseParams(text, message);
        if (!parameters.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String
            || !TryGetString(nameElement, out var toolName) || toolName.Length == 0)
        {
            await RefuseAsync(request, ClientReplies.InvalidParamsCode, "Invalid params: params.name must be a non-empty string of valid Unicode.").ConfigureAwait(false);
            return;
        }

        Dictionary<string, JsonElement>? arguments = null;
        if (parameters.TryGetProperty("arguments", out var argumentsElement))
        {
            if (argumentsElement.ValueKind != JsonValueKind.Object)
            {
                await RefuseAsync(request, ClientReplies.InvalidParamsCode, "Invalid params: params.arguments must be an object.").ConfigureAwait(false);
                return;
            }

            arguments = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var argument in argumentsElement.EnumerateObject())
            {
                arguments[argument.Name] = argument.Value;
            }
        }

        var (tools, toolsProblem) = await catalogue.GetAsync().ConfigureAwait(false);
        var call = new ToolCall(toolName, caller, arguments, tools?.GetValueOrDefault(toolName));
        if (tools is null)
        {
            // Fail closed: without the server's descriptors the classifier could be misled by a name alone.
            audit?.Write(new AuditEntry(toolName, id, call.Caller.AgentId, PolicyOutcome.Deny, RuleIds.Error, toolsProblem!, null, arguments, Shadowed: shadowMode));
            if (shadowMode)
            {
                await router.ForwardRequestAsync(request, text, message.IdStart, message.IdLength).ConfigureAwait(false);
                return;
            }

            router.ClientRequests.Remove(request);
            await replies.SendDeniedAsync(id, toolsProblem!, RuleIds.Error, null, null).ConfigureAwait(false);
            return;
        }

        var decision = await evaluator.EvaluateAsync(call).ConfigureAwait(false);
        if (shadowMode || decision.IsShadowed)
        {
            await GoAheadShadowedAsync(call, decision, request, text, message).ConfigureAwait(false);
            return;
        }

        Audit(call, id, decision);
        switch (decision.Outcome)
        {
            case PolicyOutcome.Allow:
                request.Decision = decision;
                await router.ForwardRequestAsync(request, text, message.IdStart, message.IdLength).ConfigureAwait(false);
                return;
            case PolicyOutcome.RequireApproval when clientCanElicit:
                await approvals.HoldAsync(call, decision, request, text, message).ConfigureAwait(false);
                return;
            case PolicyOutcome.RequireApproval:
                router.ClientRequests.Remove(request);
                await replies.SendDeniedAsync(id, decision, "The client cannot be asked for approval: it did not declare the elicitation capability.").ConfigureAwait(false);
                return;
            default:
                router.ClientRequests.Remove(request);
                await replies.SendDeniedAsync(id, decision, null).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>The server answered a forwarded call: when the answer says the call failed, its units are given back.</summary>
    public async ValueTask OnAnsweredAsync(ClientRequest request, bool failed)
    {
        if (!failed)
        {
            return;
        }

        try
        {
            await request.Decision.ReleaseAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not IOException)
        {
            GatewayLog.ReleaseFailed(logger, ex.Message);
        }
    }

    /// <summary>
    /// Shadow mode: the call goes ahead whatever the policy decided, and the audit says what would have applied. A call
    /// that would have waited for approval is decided again as approved, without asking anyone, so that it is counted
    /// (and limited) as an approved call would be; both decisions are audited, as a held call and its approval are.
    /// </summary>
    private async ValueTask GoAheadShadowedAsync(ToolCall call, PolicyDecision decision, ClientRequest request, ReadOnlyMemory<byte> text, ScannedMessage message)
    {
        Audit(call, request.ClientId, decision);
        if ((decision.ShadowedOutcome ?? decision.Outcome) == PolicyOutcome.RequireApproval)
        {
            var approved = new ToolCall(call.ToolName, call.Caller, call.Arguments, call.Tool) { IsApproved = true };
            decision = await evaluator.EvaluateAsync(approved).ConfigureAwait(false);
            Audit(approved, request.ClientId, decision, "not_asked");
        }

        request.Decision = decision;
        await router.ForwardRequestAsync(request, text, message.IdStart, message.IdLength).ConfigureAwait(false);
    }

    private ValueTask RefuseAsync(ClientRequest request, int code, string reason)
    {
        router.ClientRequests.Remove(request);
        return replies.SendErrorAsync(request.ClientId, code, reason);
    }

    private void Audit(ToolCall call, ReadOnlyMemory<byte> id, in PolicyDecision decision, string? approval = null) =>
        audit?.Write(call, id, decision, shadowMode, approval);

    private static bool TryGetString(JsonElement element, out string value)
    {
        try
        {
            value = element.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            // An escape that is not valid UTF-16, such as a lone surrogate: no tool has that name.
            value = string.Empty;
            return false;
        }
    }

    internal static JsonElement ParseParams(ReadOnlyMemory<byte> text, in ScannedMessage message)
    {
        var reader = new Utf8JsonReader(message.Params(text).Span);
        return JsonElement.ParseValue(ref reader);
    }
}
