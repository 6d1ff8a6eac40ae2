using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// One tools/call round trip through the official SDK's client and server over in-process pipes,
/// without PolicyLayer (the baseline) and with it (an allowed tool, and an allowed tool under a counted limit).
/// </summary>
[MemoryDiagnoser]
public class McpRoundTripBenchmarks
{
    internal const string AllowPolicy = """{ "version": "1", "tools": { "echo": {} } }""";

    // A limit large enough never to refuse during a run, so every call is counted in the store.
    internal const string LimitPolicy = """
        { "version": "1", "tools": { "echo": { "limits": [ { "counter": "echo_rate", "window": "second", "max": 100000000, "scope": "session" } ] } } }
        """;

    private readonly Dictionary<string, object?> _args = new() { ["text"] = "hello" };
    private Harness _plain = null!;
    private Harness _allowed = null!;
    private Harness _limited = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _plain = await Harness.StartAsync(null);
        _allowed = await Harness.StartAsync(AllowPolicy);
        _limited = await Harness.StartAsync(LimitPolicy);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _plain.DisposeAsync();
        await _allowed.DisposeAsync();
        await _limited.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public ValueTask<CallToolResult> WithoutPolicyLayer() => _plain.Client.CallToolAsync("echo", _args);

    [Benchmark]
    public ValueTask<CallToolResult> WithPolicyLayer_Allowed() => _allowed.Client.CallToolAsync("echo", _args);

    [Benchmark]
    public ValueTask<CallToolResult> WithPolicyLayer_CountedLimit() => _limited.Client.CallToolAsync("echo", _args);

    internal sealed class Harness : IMcpHarness
    {
        private readonly Pipe _toServer = new();
        private readonly Pipe _toClient = new();
        private readonly CancellationTokenSource _cts = new();
        private ServiceProvider _provider = null!;
        private Task _server = Task.CompletedTask;

        public McpClient Client { get; private set; } = null!;

        /// <summary>The server's services: its <see cref="McpServer"/>, options and (with a policy) PolicyLayer's filters.</summary>
        public IServiceProvider Services => _provider;

        /// <param name="policy">The policy; <see langword="null"/> runs without PolicyLayer.</param>
        /// <param name="passThroughFilters">Without PolicyLayer, filters that only call the next one where PolicyLayer puts its own.</param>
        public static async Task<Harness> StartAsync(string? policy, bool passThroughFilters = false)
        {
            var h = new Harness();
            var services = new ServiceCollection();
            var builder = services.AddMcpServer()
                .WithStreamServerTransport(h._toServer.Reader.AsStream(), h._toClient.Writer.AsStream())
                .WithTools([McpServerTool.Create((string text) => text, new() { Name = "echo" })]);
            if (passThroughFilters)
            {
                PassThroughFilters.Add(builder);
            }

            if (policy is not null)
            {
                builder.WithPolicyLayer(o =>
                {
                    o.Policy = PolicyDocument.Parse(policy);
                    o.DefaultGrantId = "bench";
                });
            }

            h._provider = services.BuildServiceProvider();
            h._server = h._provider.GetRequiredService<McpServer>().RunAsync(h._cts.Token);
            h.Client = await McpClient.CreateAsync(new StreamClientTransport(h._toServer.Writer.AsStream(), h._toClient.Reader.AsStream()));
            return h;
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await _cts.CancelAsync();
            _toServer.Writer.Complete();
            _toClient.Writer.Complete();
            try
            {
                await _server;
            }
            catch (OperationCanceledException)
            {
            }

            await _provider.DisposeAsync();
        }
    }
}
