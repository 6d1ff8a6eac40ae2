using System.IO.Pipelines;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Server;

namespace PolicyLayer.ModelContextProtocol.Tests;

/// <summary>
/// An MCP server on the stdio stream transport, run in process over two pipes, and the SDK's client connected to it:
/// the plumbing that the middleware's test hosts share.
/// </summary>
internal sealed class InProcessMcpServer : IAsyncDisposable
{
    private readonly Pipe _toServer = new();
    private readonly Pipe _toClient = new();
    private readonly CancellationTokenSource _cts = new();
    private ServiceProvider? _provider;
    private Task _serverTask = Task.CompletedTask;

    /// <summary>Adds the MCP server to <paramref name="services"/>, on this pair of pipes.</summary>
    public IMcpServerBuilder AddServer(IServiceCollection services) =>
        services.AddMcpServer().WithStreamServerTransport(_toServer.Reader.AsStream(), _toClient.Writer.AsStream());

    /// <summary>Builds <paramref name="services"/> and starts the server; returns the provider.</summary>
    public ServiceProvider Start(IServiceCollection services)
    {
        _provider = services.BuildServiceProvider();
        _serverTask = _provider.GetRequiredService<McpServer>().RunAsync(_cts.Token);
        return _provider;
    }

    /// <summary>Connects the SDK's client to the server.</summary>
    public Task<McpClient> ConnectAsync(McpClientOptions options) =>
        McpClient.CreateAsync(new StreamClientTransport(_toServer.Writer.AsStream(), _toClient.Reader.AsStream()), options);

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _toServer.Writer.Complete();
        _toClient.Writer.Complete();
        try
        {
            await _serverTask;
        }
        catch (OperationCanceledException)
        {
        }

        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }

        _cts.Dispose();
    }
}
