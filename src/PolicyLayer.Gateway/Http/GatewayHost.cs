using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace PolicyLayer.Gateway;

/// <summary>The HTTP gateway of one application: its sessions, who may call, and the endpoint; disposed with the application, which ends every session.</summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    private readonly GatewayCallers _callers;

    public GatewayHost(IOptions<PolicyLayerGatewayOptions> options, PolicyEvaluator evaluator, ILoggerFactory? loggerFactory = null)
    {
        var value = options.Value;
        value.Validate();
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger(GatewayLog.Category);
        Sessions = new GatewaySessions(value, logger);
        _callers = new GatewayCallers(value, evaluator, logger);
        Endpoint = new StreamableHttpEndpoint(value, Sessions, _callers, logger);
    }

    public GatewaySessions Sessions { get; }

    public StreamableHttpEndpoint Endpoint { get; }

    public async ValueTask DisposeAsync()
    {
        _callers.Dispose();
        await Sessions.DisposeAsync().ConfigureAwait(false);
    }
}
