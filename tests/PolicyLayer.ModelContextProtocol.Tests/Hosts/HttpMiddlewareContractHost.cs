using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Client;
using PolicyLayer.ContractServer;
using PolicyLayer.TestUtils.Hosts;

namespace PolicyLayer.ModelContextProtocol.Tests.Hosts;

/// <summary>
/// The contract tools behind <c>WithPolicyLayer</c> on a real ASP.NET Core Streamable HTTP server (stateful or stateless)
/// behind JWT bearer authentication; each client connects with a token of its own, whose grant claim is the settings' grant.
/// </summary>
internal sealed class HttpMiddlewareContractHost : ContractHost
{
    /// <summary>The user every contract client's token names.</summary>
    public const string User = "contract-user";

    private readonly HttpMcpTestHost _host;
    private readonly ContractLog _log;
    private readonly string? _grant;

    private HttpMiddlewareContractHost(HttpMcpTestHost host, ContractLog log, string? grant)
    {
        _host = host;
        _log = log;
        _grant = grant;
    }

    public static async Task<ContractHost> StartAsync(HttpServerSessionMode mode, ContractHostSettings settings)
    {
        var log = new ContractLog();
        var host = await HttpMcpTestHost.StartAsync(
            mode,
            settings.Policy,
            options =>
            {
                options.ApprovalTimeout = settings.ApprovalTimeout;
                options.ShadowMode = settings.ShadowMode;
            },
            tools: mcp =>
            {
                mcp.Services.AddSingleton(log);
                mcp.WithTools<ContractTools>();
            });
        return new HttpMiddlewareContractHost(host, log, settings.Grant);
    }

    public override Task<McpClient> ConnectAsync(ContractClient client) =>
        _host.ConnectAsync(User, _grant, client.ToOptions());

    public override Task WaitForToolStartAsync(string tool, int count = 1) => _log.WaitForStartAsync(tool, count);

    public override int StartCount(string tool) => _log.Count(tool);

    public override ValueTask DisposeAsync() => _host.DisposeAsync();
}
