using KestraServer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer.Mcp;

namespace PolicyLayer.ModelContextProtocol.Tests;

/// <summary>An MCP server with the middleware and the SDK's own client, connected in process over pipes.</summary>
internal sealed class McpTestHost : IAsyncDisposable
{
    private readonly InProcessMcpServer _server = new();
    private readonly ServiceProvider _provider;

    public McpTestHost(
        string policyJson,
        Action<PolicyLayerMcpOptions>? configure = null,
        SlidingLogCounterStore? store = null,
        FakeTimeProvider? time = null,
        Action<IMcpServerBuilder>? beforePolicyLayer = null,
        IEnumerable<McpServerTool>? extraTools = null)
    {
        Time = time ?? new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Store = store ?? new SlidingLogCounterStore(Time);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(Time);
        services.AddSingleton<FlowStore>();
        var builder = _server.AddServer(services).WithTools<KestraTools>();
        if (extraTools is not null)
        {
            builder.WithTools(extraTools);
        }

        beforePolicyLayer?.Invoke(builder);
        builder.WithPolicyLayer(options =>
        {
            options.Policy = PolicyDocument.Parse(policyJson);
            options.CounterStore = Store;
            options.DefaultGrantId = "grant-a";
            configure?.Invoke(options);
        });

        _provider = _server.Start(services);
        Flows = _provider.GetRequiredService<FlowStore>();
    }

    public FakeTimeProvider Time { get; }

    public SlidingLogCounterStore Store { get; }

    public FlowStore Flows { get; }

    /// <summary>The server's services.</summary>
    public IServiceProvider Services => _provider;

    /// <summary>The server's evaluator (to switch shadow mode, read the policy in force).</summary>
    public PolicyEvaluator Evaluator => _provider.GetRequiredService<PolicyEvaluator>();

    public Task<McpClient> ConnectAsync(McpClientOptions? options = null) =>
        _server.ConnectAsync(options ?? new McpClientOptions { ClientInfo = new Implementation { Name = "test-agent", Version = "1" } });

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

internal static class CallToolResultExtensions
{
    public static string Text(this CallToolResult result) =>
        string.Join("\n", result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    public static Task<CallToolResult> LabelAsync(this McpClient client, int i = 1) =>
        client.CallToolAsync("add_execution_labels", new Dictionary<string, object?>
        {
            ["executionId"] = "exec-1",
            ["labels"] = new Dictionary<string, string> { ["n"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        }).AsTask();
}

internal static class Policies
{
    public static string Kestra => File.ReadAllText(PolicyLayer.TestUtils.RepositoryPaths.SamplePolicy("kestra.policy.json"));
}
