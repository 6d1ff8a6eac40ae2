using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer.Gate;

namespace PolicyLayer.Mcp;

/// <summary>
/// The SDK's side of the gate: reads a tools/call off the SDK's request, hands it to <see cref="ToolCallGate"/>, turns the
/// verdict into the SDK's result (or input-required exception), and reports how the tool ended. Filters tools/list
/// through the gate. Decides nothing itself. One per server; safe from many threads.
/// </summary>
internal sealed class PolicyFilters
{
    /// <summary>The key under which a gated call's verdict travels from the outer filter to the tool's wrapper.</summary>
    internal const string VerdictKey = "PolicyLayer.Verdict";

    private readonly ToolCallGate _gate;
    private readonly ICallerIdentityResolver _identity;
    private readonly ToolListAnnouncer _announcer;
    private readonly bool _filterToolsList;

    // The filters as the SDK takes them, made once: a stateless server builds its options and pipelines per request.
    private readonly McpRequestInvocationFilter<CallToolRequestParams, ResultOrAlternate<CallToolResult>> _gateFilter;
    private readonly McpRequestFilter<CallToolRequestParams, CallToolResult> _toolFilter;
    private readonly McpRequestFilter<ListToolsRequestParams, ListToolsResult> _listFilter;

    public PolicyFilters(ToolCallGate gate, ICallerIdentityResolver identity, PolicyLayerMcpOptions options, ToolListAnnouncer announcer)
    {
        _gate = gate;
        _identity = identity;
        _announcer = announcer;
        _filterToolsList = options.FilterToolsList;
        _gateFilter = GateAsync;
        _toolFilter = next => (context, cancellationToken) => WrapToolAsync(context, next, cancellationToken);
        _listFilter = next => async (context, cancellationToken) => FilterList(context, await next(context, cancellationToken).ConfigureAwait(false));
    }

    public ToolCallGate Gate => _gate;

    /// <summary>
    /// Puts the filters in a server's options: the gate first in the alternate-result pipeline (which runs before the Tasks
    /// extension creates a task, so a task-backed call is decided before it starts), then around the tool and around
    /// tools/list, in the order the host registered its own filters.
    /// </summary>
    public void AddTo(McpRequestFilters filters)
    {
        filters.CallToolWithAlternateFilters.Insert(0, _gateFilter);
        filters.CallToolFilters.Add(_toolFilter);
        filters.ListToolsFilters.Add(_listFilter);
    }

    /// <summary>
    /// The outer filter, first in the alternate-result pipeline: it runs before any task is created, so a task-backed
    /// call is decided before it starts.
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

        var verdict = await DecideAsync(context, cancellationToken).ConfigureAwait(false);
        if (verdict.Refusal is { } refusal)
        {
            return ToResult(refusal);
        }

        context.Items[VerdictKey] = verdict;
        ResultOrAlternate<CallToolResult> result;
        try
        {
            result = await next(context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await _gate.SettleAsync(verdict, Ended(verdict, ex)).ConfigureAwait(false);
            throw;
        }

        var outcome = result.IsAlternate
            ? result.Alternate is InputRequiredResult ? ToolRunOutcome.InputRequired : ToolRunOutcome.Succeeded
            : result.Result?.IsError == true ? ToolRunOutcome.Failed : ToolRunOutcome.Succeeded;
        await _gate.SettleAsync(verdict, outcome).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// The inner wrapper, right around the tool (for a task-backed call, in the background): marks the call as started
    /// and reports how the tool ended. Should the outer filter have been bypassed, it decides the call itself.
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

        GateVerdict verdict;
        if (context.Items.Remove(VerdictKey, out var held) && held is GateVerdict decided)
        {
            verdict = decided;
        }
        else
        {
            verdict = await DecideAsync(context, cancellationToken).ConfigureAwait(false);
            if (verdict.Refusal is { } refusal)
            {
                return ToResult(refusal);
            }
        }

        verdict.MarkToolStarted();
        CallToolResult result;
        try
        {
            result = await next(context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await _gate.SettleAsync(verdict, Ended(verdict, ex)).ConfigureAwait(false);
            throw;
        }

        await _gate.SettleAsync(verdict, result.IsError == true ? ToolRunOutcome.Failed : ToolRunOutcome.Succeeded).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Removes from a tools/list result the tools the gate does not list: those the policy hides, always, and those it
    /// denies outright unless <see cref="PolicyLayerMcpOptions.FilterToolsList"/> is off; in shadow mode, none. The first
    /// list on a server with a session makes a later change of that list announced to its clients.
    /// </summary>
    public ListToolsResult FilterList(RequestContext<ListToolsRequestParams> context, ListToolsResult result)
    {
        if (context.Server.ServerOptions.ToolCollection is AnnouncingToolCollection { IsTracked: false } announcing && !RequestSession.IsSessionless(context))
        {
            _announcer.Track(announcing);
        }

        if (result.Tools is not { Count: > 0 } tools)
        {
            return result;
        }

        List<Tool>? kept = null;
        for (var i = 0; i < tools.Count; i++)
        {
            var listed = _gate.IsListed(ToolDescriptors.Get(tools[i]), _filterToolsList);
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

    /// <summary>The SDK's tool result for a refusal: the gate's text and <c>_meta</c>, as every host sends them.</summary>
    internal static CallToolResult ToResult(GateRefusal refusal) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = refusal.Text }],
        Meta = refusal.MetaNode(),
    };

    // A call the SDK cannot match to a tool is left to the SDK, which refuses it as an unknown tool,
    // unless the host handles unmatched calls itself.
    private static bool IsGoverned(RequestContext<CallToolRequestParams> context) =>
        context.Params is not null
        && (context.MatchedPrimitive is McpServerTool || context.Server.ServerOptions.Handlers.CallToolHandler is not null);

    // A cancellation after the tool started keeps the units (the tool may have acted); input required is retried and
    // decided afresh; any other exception is the tool failing, or the call failing before it, and gives them back.
    private static ToolRunOutcome Ended(GateVerdict verdict, Exception ex) => ex switch
    {
        InputRequiredException => ToolRunOutcome.InputRequired,
        OperationCanceledException => verdict.ToolStarted ? ToolRunOutcome.CancelledAfterStart : ToolRunOutcome.NotStarted,
        _ => verdict.ToolStarted ? ToolRunOutcome.Failed : ToolRunOutcome.NotStarted,
    };

    private async ValueTask<GateVerdict> DecideAsync(RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        var parameters = context.Params!;
        CallerIdentity caller;
        try
        {
            caller = await _identity.ResolveAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Fail closed: a caller who cannot be told is refused.
            return GateVerdict.Undecidable(parameters.Name);
        }

        var descriptor = context.MatchedPrimitive is McpServerTool tool ? ToolDescriptors.Get(tool.ProtocolTool) : null;
        var arguments = parameters.Arguments switch
        {
            null => null,
            IReadOnlyDictionary<string, System.Text.Json.JsonElement> ro => ro,
            var other => new Dictionary<string, System.Text.Json.JsonElement>(other, StringComparer.Ordinal),
        };
        var request = new GateCall(new ToolCall(parameters.Name, caller, arguments, descriptor), ArgumentNames.FindAmbiguity(arguments))
        {
            ApprovalAnswer = parameters.InputResponses is { } responses && responses.TryGetValue(ToolCallGate.InputKey, out var answer) ? answer.RawValue : null,
            ApprovalState = parameters.RequestState,
            ApprovalId = parameters.Meta?[GateRefusal.ApprovalMetaKey] is System.Text.Json.Nodes.JsonValue id && id.TryGetValue<string>(out var approvalId) ? approvalId : null,
            HostContext = context,
        };

        var verdict = await _gate.DecideAsync(request, new SdkGateClient(context), cancellationToken).ConfigureAwait(false);
        if (verdict.InputRequest is { } elicitation)
        {
            var input = elicitation.Deserialize((System.Text.Json.Serialization.Metadata.JsonTypeInfo<ElicitRequestParams>)
                global::ModelContextProtocol.McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ElicitRequestParams)))!;
            throw new InputRequiredException(
                new Dictionary<string, InputRequest> { [ToolCallGate.InputKey] = InputRequest.ForElicitation(input) },
                verdict.InputState);
        }

        return verdict;
    }
}
