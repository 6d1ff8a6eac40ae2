using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace PolicyLayer.Mcp;

/// <summary>
/// Decides tools/call requests before the tool runs, gives back the reservation of a call whose tool failed,
/// and filters tools/list. One per server; safe from many threads.
/// </summary>
internal sealed partial class PolicyGate
{
    /// <summary>The key under which a gated call's reservation travels from the gate to the tool's wrapper.</summary>
    internal const string ReservationKey = "PolicyLayer.Reservation";

    private readonly PolicyEvaluator _evaluator;
    private readonly ICallerIdentityResolver _identity;
    private readonly IApprovalHandler _approver;
    private readonly bool _filterToolsList;
    private readonly ILogger _logger;

    public PolicyGate(PolicyEvaluator evaluator, ICallerIdentityResolver identity, IApprovalHandler approver, PolicyLayerMcpOptions options, ILoggerFactory? loggerFactory)
    {
        _evaluator = evaluator;
        _identity = identity;
        _approver = approver;
        _filterToolsList = options.FilterToolsList;
        _logger = (ILogger?)loggerFactory?.CreateLogger("PolicyLayer.Mcp") ?? NullLogger.Instance;
    }

    public PolicyEvaluator Evaluator => _evaluator;

    /// <summary>
    /// The outer gate, first in the alternate-result pipeline: it runs before any task is created, so a
    /// task-backed call is decided before it starts.
    /// </summary>
    public async ValueTask<ResultOrAlternate<CallToolResult>> GateAsync(
        RequestContext<CallToolRequestParams> context,
        McpRequestHandler<CallToolRequestParams, ResultOrAlternate<CallToolResult>> next,
        CancellationToken cancellationToken)
    {
        if (!IsGoverned(context))
        {
            return await next(context, cancellationToken).ConfigureAwait(false);
        }

        var (refusal, reservation) = await DecideAsync(context, cancellationToken).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }

        context.Items[ReservationKey] = reservation;
        ResultOrAlternate<CallToolResult> result;
        try
        {
            result = await next(context, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The tool failed, was cancelled, or asked for input and will be decided again on the retry.
            await reservation.ReleaseAsync().ConfigureAwait(false);
            throw;
        }

        if (result.IsAlternate ? result.Alternate is InputRequiredResult : result.Result?.IsError == true)
        {
            await reservation.ReleaseAsync().ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>
    /// The inner wrapper, right around the tool (for a task-backed call, in the background): gives the
    /// reservation back when the tool fails. Should the outer gate have been bypassed, it decides the call itself.
    /// </summary>
    public async ValueTask<CallToolResult> WrapToolAsync(
        RequestContext<CallToolRequestParams> context,
        McpRequestHandler<CallToolRequestParams, CallToolResult> next,
        CancellationToken cancellationToken)
    {
        if (!IsGoverned(context))
        {
            return await next(context, cancellationToken).ConfigureAwait(false);
        }

        Reservation reservation;
        if (context.Items.Remove(ReservationKey, out var held) && held is Reservation r)
        {
            reservation = r;
        }
        else
        {
            var (refusal, decided) = await DecideAsync(context, cancellationToken).ConfigureAwait(false);
            if (refusal is not null)
            {
                return refusal;
            }

            reservation = decided;
        }

        CallToolResult result;
        try
        {
            result = await next(context, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await reservation.ReleaseAsync().ConfigureAwait(false);
            throw;
        }

        if (result.IsError == true)
        {
            await reservation.ReleaseAsync().ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>
    /// Removes from a tools/list result the tools the policy hides, always, and those it denies outright unless
    /// <see cref="PolicyLayerMcpOptions.FilterToolsList"/> is off. In shadow mode nothing is removed: shadow mode
    /// changes nothing the agent sees, so that what it records is what the agent would do without the policy.
    /// </summary>
    public ListToolsResult FilterList(ListToolsResult result)
    {
        if (result.Tools is not { Count: > 0 } tools || _evaluator.ShadowMode)
        {
            return result;
        }

        // One document for the whole list, even if a reload swaps it meanwhile.
        var hide = _filterToolsList ? null : _evaluator.Policy.Compiled.Hide;
        List<Tool>? kept = null;
        for (var i = 0; i < tools.Count; i++)
        {
            var listed = hide is null
                ? _evaluator.IsListed(ToolDescriptors.Get(tools[i]))
                : !hide.TryMatch(tools[i].Name, out _, out _);
            if (!listed && kept is null)
            {
                kept = new List<Tool>(tools.Count);
                for (var j = 0; j < i; j++)
                {
                    kept.Add(tools[j]);
                }
            }
            else if (listed)
            {
                kept?.Add(tools[i]);
            }
        }

        if (kept is not null)
        {
            result.Tools = kept;
        }

        return result;
    }

    // A call the SDK cannot match to a tool is left to the SDK, which refuses it as an unknown tool,
    // unless the host handles unmatched calls itself.
    private static bool IsGoverned(RequestContext<CallToolRequestParams> context) =>
        context.Params is not null
        && (context.MatchedPrimitive is McpServerTool || context.Server.ServerOptions.Handlers.CallToolHandler is not null);

    private async ValueTask<(CallToolResult? Refusal, Reservation Reservation)> DecideAsync(
        RequestContext<CallToolRequestParams> context,
        CancellationToken cancellationToken)
    {
        var parameters = context.Params!;
        var toolName = parameters.Name;
        try
        {
            var caller = await _identity.ResolveAsync(context, cancellationToken).ConfigureAwait(false);
            var descriptor = context.MatchedPrimitive is McpServerTool tool ? ToolDescriptors.Get(tool.ProtocolTool) : null;
            var arguments = parameters.Arguments switch
            {
                null => null,
                IReadOnlyDictionary<string, System.Text.Json.JsonElement> ro => ro,
                var other => new Dictionary<string, System.Text.Json.JsonElement>(other, StringComparer.Ordinal),
            };
            var call = new ToolCall(toolName, caller, arguments, descriptor);
            var decision = await _evaluator.EvaluateAsync(call, cancellationToken).ConfigureAwait(false);

            if (decision.Outcome == PolicyOutcome.RequireApproval)
            {
                // Held calls cost nothing; an approved call is decided again so every limit still applies, counted once.
                var approval = await _approver.RequestApprovalAsync(new ApprovalRequest(call, decision, context), cancellationToken).ConfigureAwait(false);
                if (!approval.IsApproved)
                {
                    LogRefused(_logger, toolName, decision.RuleId, approval.Reason);
                    return (PolicyRefusal.Create(toolName, approval.Reason, decision.RuleId, null), Reservation.None);
                }

                decision = await _evaluator.EvaluateAsync(
                    new ToolCall(toolName, caller, arguments, descriptor) { IsApproved = true }, cancellationToken).ConfigureAwait(false);
            }
            else if (decision.ShadowedOutcome == PolicyOutcome.RequireApproval)
            {
                // Shadow mode asks nobody; the call goes ahead and counts as the approved call it would have been,
                // so the shadowed limits see the traffic they would see when enforced (the proxy does the same).
                decision = await _evaluator.EvaluateAsync(
                    new ToolCall(toolName, caller, arguments, descriptor) { IsApproved = true }, cancellationToken).ConfigureAwait(false);
            }

            if (!decision.IsAllowed)
            {
                LogRefused(_logger, toolName, decision.RuleId, decision.Reason);
                return (PolicyRefusal.Create(toolName, decision), Reservation.None);
            }

            return (null, decision.HoldsReservation ? new Reservation(decision) : Reservation.None);
        }
        catch (ModelContextProtocol.Protocol.InputRequiredException)
        {
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // Fail closed: a failure while deciding refuses the call.
            LogDecisionFailed(_logger, toolName, ex);
            return (PolicyRefusal.Create(toolName, "The policy could not be evaluated, so the call is refused.", "(error)", null), Reservation.None);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "PolicyLayer refused a call of {Tool} by {RuleId}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string tool, string ruleId, string reason);

    [LoggerMessage(2, LogLevel.Error, "PolicyLayer could not decide a call of {Tool}; refused")]
    private static partial void LogDecisionFailed(ILogger logger, string tool, Exception exception);

    /// <summary>The units one allowed call holds; given back at most once.</summary>
    internal sealed class Reservation
    {
        public static readonly Reservation None = new(default);

        private readonly PolicyDecision _decision;
        private int _released;

        public Reservation(PolicyDecision decision) => _decision = decision;

        public ValueTask ReleaseAsync()
        {
            if (!_decision.HoldsReservation || Interlocked.Exchange(ref _released, 1) != 0)
            {
                return default;
            }

            return _decision.ReleaseAsync(CancellationToken.None);
        }
    }
}
