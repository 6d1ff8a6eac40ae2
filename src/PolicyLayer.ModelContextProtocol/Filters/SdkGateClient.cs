using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer.Gate;

namespace PolicyLayer.Mcp;

/// <summary>The client of one tools/call as the SDK's session knows it, for the gate.</summary>
internal sealed class SdkGateClient : IGateClient
{
    private readonly McpServer _server;

    public SdkGateClient(RequestContext<CallToolRequestParams> context)
    {
        _server = context.Server;
        var features = GateClientFeatures.None;
        if (_server.ClientCapabilities?.Elicitation is not null)
        {
            features |= GateClientFeatures.Elicitation;
        }

        // Stateless Streamable HTTP has no session that could carry a request from the server while the call is held.
        if (context.JsonRpcRequest.Context?.RelatedTransport is not StreamableHttpServerTransport { Stateless: true })
        {
            features |= GateClientFeatures.ServerRequests;
        }

        if (_server.IsMrtrSupported)
        {
            features |= GateClientFeatures.InputRequests;
        }

        Features = features;
    }

    public GateClientFeatures Features { get; }

    public async ValueTask<JsonElement> ElicitAsync(JsonElement parameters, CancellationToken cancellationToken)
    {
        var request = parameters.Deserialize((System.Text.Json.Serialization.Metadata.JsonTypeInfo<ElicitRequestParams>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ElicitRequestParams)))!;
        ElicitResult result;
        try
        {
            result = await _server.ElicitAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (McpException ex)
        {
            throw new GateClientException(ex.Message, ex);
        }

        return JsonSerializer.SerializeToElement(result, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ElicitResult)));
    }
}
