using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// One echo tool on a real ASP.NET Core Streamable HTTP server on a loopback port, with or without PolicyLayer, and
/// the SDK's client over HTTP: what <see cref="McpOverhead"/> measures with <c>--transport http-stateful</c> or
/// <c>http-stateless</c>.
/// </summary>
internal sealed class McpHttpHarness : IMcpHarness
{
    // Counted per grant: a stateless request has no session, so a session-scoped limit would refuse every call.
    internal const string LimitPolicy = """
        { "version": "1", "tools": { "echo": { "limits": [ { "counter": "echo_rate", "window": "second", "max": 100000000, "scope": "grant" } ] } } }
        """;

    private readonly WebApplication _app;

    private McpHttpHarness(WebApplication app, McpClient client)
    {
        _app = app;
        Client = client;
    }

    public McpClient Client { get; }

    /// <param name="policy">The policy; <see langword="null"/> runs without PolicyLayer.</param>
    /// <param name="mode">The HTTP transport's session mode.</param>
    /// <param name="passThroughFilters">
    /// Without PolicyLayer, three SDK request filters that only call the next one, where PolicyLayer puts its own: what
    /// any filter costs, since a stateless server builds its pipeline anew for every request.
    /// </param>
    /// <param name="adjust">Changes the server's services after everything else registered them (a probe's variant).</param>
    /// <param name="inProcess">The client's requests go straight to the endpoint (<see cref="InProcessHttpHandler"/>), not over a socket.</param>
    public static async Task<McpHttpHarness> StartAsync(string? policy, HttpServerSessionMode mode, bool passThroughFilters = false, Action<IServiceCollection>? adjust = null, bool inProcess = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var mcp = builder.Services.AddMcpServer()
            .WithHttpTransport(o => o.SessionMode = mode)
            .WithTools([McpServerTool.Create((string text) => text, new() { Name = "echo" })]);
        if (passThroughFilters)
        {
            PassThroughFilters.Add(mcp);
        }

        if (policy is not null)
        {
            mcp.WithPolicyLayer(o =>
            {
                o.Policy = PolicyDocument.Parse(policy);
                o.DefaultGrantId = "bench";
            });
        }

        adjust?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapMcp("/mcp");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var transportOptions = new HttpClientTransportOptions { Endpoint = new Uri(address.TrimEnd('/') + "/mcp"), TransportMode = HttpTransportMode.StreamableHttp };
        var client = await McpClient.CreateAsync(
            inProcess
                ? new HttpClientTransport(transportOptions, new HttpClient(new InProcessHttpHandler(app)), ownsHttpClient: true)
                : new HttpClientTransport(transportOptions),
            new McpClientOptions { ClientInfo = new Implementation { Name = "bench", Version = "1" } });
        return new McpHttpHarness(app, client);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A server with an echo tool and a client connected to it.</summary>
internal interface IMcpHarness : IAsyncDisposable
{
    McpClient Client { get; }
}
