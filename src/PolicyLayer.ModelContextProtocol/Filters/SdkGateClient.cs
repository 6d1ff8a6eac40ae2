using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer.Gate;

namespace PolicyLayer.Mcp;

/// <summary>The client of one tools/call as the SDK's session knows it, for the gate.</summary>
internal sealed class SdkGateClient : IGateClient
{
    // Not a combination of features; one field, so a read is never torn.
    private const GateClientFeatures Unread = (GateClientFeatures)(-1);

    private readonly RequestContext<CallToolRequestParams> _context;
    private GateClientFeatures _features = Unread;

    public SdkGateClient(RequestContext<CallToolRequestParams> context)
    {
        _context = context;
    }

    /// <summary>Read when a call is held for approval, so that an allowed call does not ask the session what it supports.</summary>
    public GateClientFeatures Features => _features != Unread ? _features : _features = ReadFeatures(_context);

    private static GateClientFeatures ReadFeatures(RequestContext<CallToolRequestParams> context)
    {
        var server = context.Server;
        var features = GateClientFeatures.None;
        if (server.ClientCapabilities?.Elicitation is not null)
        {
            features |= GateClientFeatures.Elicitation;
        }

        // A request over Streamable HTTP without a session (stateless mode, or a 2026-07-28 request served
        // statelessly) has no session that could carry a request from the server while the call is held. Its
        // RelatedTransport is the POST's own transport, never the stateless session transport, so that is not the test.
        if (!RequestSession.IsSessionless(context))
        {
            features |= GateClientFeatures.ServerRequests;
        }

        if (server.IsMrtrSupported)
        {
            features |= GateClientFeatures.InputRequests;
        }

        return features;
    }

    public bool CanReportProgress => _context.Params?.ProgressToken is not null;

    public async ValueTask ReportProgressAsync(double progress, string message, CancellationToken cancellationToken)
    {
        if (_context.Params?.ProgressToken is { } token)
        {
            await _context.Server.NotifyProgressAsync(token, new ProgressNotificationValue { Progress = (float)progress, Message = message }, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<JsonElement> ElicitAsync(JsonElement parameters, CancellationToken cancellationToken)
    {
        var request = parameters.Deserialize((System.Text.Json.Serialization.Metadata.JsonTypeInfo<ElicitRequestParams>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ElicitRequestParams)))!;
        ElicitResult result;
        try
        {
            result = await _context.Server.ElicitAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is McpException or InvalidOperationException)
        {
            // The client answered with an error (McpException), or the SDK refused to send (InvalidOperationException,
            // as on a session it cannot send requests on): either way the agent reads the reason, not "(error)".
            throw new GateClientException(ex.Message, ex);
        }

        return JsonSerializer.SerializeToElement(result, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ElicitResult)));
    }
}
