using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace PolicyLayer.Gateway;

/// <summary>The HTTP gateway of one application: its sessions, who may call, and the endpoint; disposed with the application, which ends every session.</summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    public GatewayHost(IOptions<PolicyLayerGatewayOptions> options, PolicyEvaluator evaluator, ILoggerFactory? loggerFactory = null)
    {
        var value = options.Value;
        value.Validate();
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger(GatewayLog.Category);
        Sessions = new GatewaySessions(value, logger);
        Endpoint = new StreamableHttpEndpoint(value, Sessions, new GatewayCallers(value, evaluator), logger);
    }

    public GatewaySessions Sessions { get; }

    public StreamableHttpEndpoint Endpoint { get; }

    public ValueTask DisposeAsync() => Sessions.DisposeAsync();
}
