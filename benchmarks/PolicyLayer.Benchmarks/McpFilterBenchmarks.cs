using System.Diagnostics;
using System.Security.Claims;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer.Mcp;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// What the middleware's filters cost per call without a transport: the filters a server with PolicyLayer registered
/// (the outer call filter and the tool's wrapper of <see cref="PolicyFilters"/>, with the gate and evaluator behind
/// them) around a tool that returns at once, and its tools/list filter on a list of 20 tools. Beside them, a server
/// with pass-through filters in the same places (the control of <see cref="McpOverhead"/>), and one with no filter.
/// </summary>
/// <remarks>
/// The request is what the SDK hands the filters: a fresh <see cref="JsonRpcRequest"/> and
/// <see cref="RequestContext{TParams}"/> per call (in every row), on the server of a real client-server pair that
/// completed its initialize handshake, the echo tool matched, one string argument. As the SDK does for every
/// tools/call, the outer filter is bound to its next step by a closure made per call. <c>Authenticated</c> rows give
/// the request a principal with the claims of a typical bearer token, as an HTTP host does.
/// </remarks>
[MemoryDiagnoser]
public class McpFilterBenchmarks
{
    private static readonly CallToolResult EchoResult = new() { Content = [new TextContentBlock { Text = "hello" }] };

    private readonly Dictionary<string, JsonElement> _arguments = new(StringComparer.Ordinal)
    {
        ["text"] = JsonDocument.Parse("\"hello\"").RootElement,
    };

    private McpRoundTripBenchmarks.Harness _plain = null!;
    private McpRoundTripBenchmarks.Harness _passThroughHarness = null!;
    private McpRoundTripBenchmarks.Harness _allowed = null!;
    private McpRoundTripBenchmarks.Harness _limited = null!;
    private Pipeline _none = null!;
    private Pipeline _passThrough = null!;
    private Pipeline _allowedPipeline = null!;
    private Pipeline _limitedPipeline = null!;
    private ClaimsPrincipal _principal = null!;
    private Tool[] _listed = null!;
    private int _nextId;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _plain = await McpRoundTripBenchmarks.Harness.StartAsync(null);
        _passThroughHarness = await McpRoundTripBenchmarks.Harness.StartAsync(null, passThroughFilters: true);
        _allowed = await McpRoundTripBenchmarks.Harness.StartAsync(McpRoundTripBenchmarks.AllowPolicy);
        _limited = await McpRoundTripBenchmarks.Harness.StartAsync(McpRoundTripBenchmarks.LimitPolicy);
        _none = Pipeline.Of(_plain, NewList);
        _passThrough = Pipeline.Of(_passThroughHarness, NewList);
        _allowedPipeline = Pipeline.Of(_allowed, NewList);
        _limitedPipeline = Pipeline.Of(_limited, NewList);
        _principal = new ClaimsPrincipal(new ClaimsIdentity(
        [
            new Claim("sub", "user-42"),
            new Claim("grant_id", "grant-7"),
            new Claim("iss", "https://issuer.example"),
            new Claim("aud", "mcp"),
            new Claim("scope", "tools:read"),
            new Claim("scope", "tools:write"),
            new Claim("role", "engineer"),
            new Claim("exp", "1893456000"),
        ], "Bearer"));
        _listed = [.. Enumerable.Range(0, 20).Select(i => new Tool { Name = i == 0 ? "echo" : $"tool_{i}", Description = $"Tool number {i}.", InputSchema = JsonDocument.Parse("""{"type":"object","properties":{"text":{"type":"string"}}}""").RootElement })];

        // Every tool's descriptor is made on first sight; a list's tools are the same instances each time, as the SDK's are.
        await _allowedPipeline.ListAsync(NewListContext());
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _plain.DisposeAsync();
        await _passThroughHarness.DisposeAsync();
        await _allowed.DisposeAsync();
        await _limited.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public ValueTask<ResultOrAlternate<CallToolResult>> Call_NoFilters() => _none.CallAsync(NewContext(null));

    [Benchmark]
    public ValueTask<ResultOrAlternate<CallToolResult>> Call_PassThroughFilters() => _passThrough.CallAsync(NewContext(null));

    [Benchmark]
    public ValueTask<ResultOrAlternate<CallToolResult>> Call_PolicyLayer_Allowed() => _allowedPipeline.CallAsync(NewContext(null));

    [Benchmark]
    public ValueTask<ResultOrAlternate<CallToolResult>> Call_PolicyLayer_CountedLimit() => _limitedPipeline.CallAsync(NewContext(null));

    [Benchmark]
    public ValueTask<ResultOrAlternate<CallToolResult>> Call_PolicyLayer_Allowed_Authenticated() => _allowedPipeline.CallAsync(NewContext(_principal));

    [Benchmark]
    public ValueTask<ListToolsResult> List20_NoFilters() => _none.ListAsync(NewListContext());

    [Benchmark]
    public ValueTask<ListToolsResult> List20_PassThroughFilters() => _passThrough.ListAsync(NewListContext());

    [Benchmark]
    public ValueTask<ListToolsResult> List20_PolicyLayer() => _allowedPipeline.ListAsync(NewListContext());

    /// <summary>The server options a stateless HTTP server builds for every request (every Configure and PostConfigure runs).</summary>
    [Benchmark]
    public McpServerOptions StatelessOptions_NoFilters() => _plain.Services.GetRequiredService<IOptionsFactory<McpServerOptions>>().Create(Options.DefaultName);

    [Benchmark]
    public McpServerOptions StatelessOptions_PassThroughFilters() => _passThroughHarness.Services.GetRequiredService<IOptionsFactory<McpServerOptions>>().Create(Options.DefaultName);

    [Benchmark]
    public McpServerOptions StatelessOptions_PolicyLayer() => _allowed.Services.GetRequiredService<IOptionsFactory<McpServerOptions>>().Create(Options.DefaultName);

    /// <summary>Runs one row in a loop for <paramref name="seconds"/>, for a profiler.</summary>
    public static async Task<int> ProfileAsync(double seconds, string row)
    {
        var bench = new McpFilterBenchmarks();
        await bench.SetupAsync();
        Func<Task> call = row switch
        {
            nameof(Call_NoFilters) => async () => await bench.Call_NoFilters(),
            nameof(Call_PassThroughFilters) => async () => await bench.Call_PassThroughFilters(),
            nameof(Call_PolicyLayer_Allowed) => async () => await bench.Call_PolicyLayer_Allowed(),
            nameof(Call_PolicyLayer_CountedLimit) => async () => await bench.Call_PolicyLayer_CountedLimit(),
            nameof(Call_PolicyLayer_Allowed_Authenticated) => async () => await bench.Call_PolicyLayer_Allowed_Authenticated(),
            nameof(List20_PolicyLayer) => async () => await bench.List20_PolicyLayer(),
            _ => throw new ArgumentException($"No benchmark row named {row}."),
        };
        var until = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        long calls = 0;
        while (Stopwatch.GetTimestamp() < until)
        {
            for (var i = 0; i < 10_000; i++)
            {
                await call();
            }

            calls += 10_000;
        }

        Console.WriteLine($"{calls:N0} calls, {seconds * 1e9 / calls:F0} ns per call");
        await bench.CleanupAsync();
        return 0;
    }

    private ListToolsResult NewList() => new() { Tools = [.. _listed] };

    private RequestContext<CallToolRequestParams> NewContext(ClaimsPrincipal? user)
    {
        var request = new JsonRpcRequest { Id = new RequestId(++_nextId), Method = RequestMethods.ToolsCall };
        var parameters = new CallToolRequestParams { Name = "echo", Arguments = _arguments };
        return new RequestContext<CallToolRequestParams>(Pipeline.Server(_allowed.Services), request, parameters) { User = user };
    }

    private RequestContext<ListToolsRequestParams> NewListContext() =>
        new(Pipeline.Server(_allowed.Services), new JsonRpcRequest { Id = new RequestId(++_nextId), Method = RequestMethods.ToolsList }, new ListToolsRequestParams());

    /// <summary>
    /// A server's tools/call and tools/list pipelines as the SDK composes them from the filters registered on it,
    /// around a tool (and a list handler) that answers at once.
    /// </summary>
    private sealed class Pipeline
    {
        private readonly McpServer _server;
        private readonly McpServerTool _tool;
        private readonly IList<McpRequestInvocationFilter<CallToolRequestParams, ResultOrAlternate<CallToolResult>>> _outer;
        private readonly McpRequestHandler<CallToolRequestParams, ResultOrAlternate<CallToolResult>> _ordinary;
        private readonly McpRequestHandler<ListToolsRequestParams, ListToolsResult> _list;

        private Pipeline(IServiceProvider services, Func<ListToolsResult> list)
        {
            _server = Server(services);
            var options = _server.ServerOptions;
            _tool = options.ToolCollection!.TryGetPrimitive("echo", out var tool) ? tool : throw new InvalidOperationException("No echo tool.");
            _outer = options.Filters.Request.CallToolWithAlternateFilters;
            McpRequestHandler<CallToolRequestParams, CallToolResult> handler = static (_, _) => new ValueTask<CallToolResult>(EchoResult);
            foreach (var filter in options.Filters.Request.CallToolFilters.Reverse())
            {
                handler = filter(handler);
            }

            // As the SDK's ordinary pipeline: an async step that awaits the call filters and wraps the result.
            _ordinary = async (request, cancellationToken) => await handler(request, cancellationToken).ConfigureAwait(false);
            _list = (_, _) => new ValueTask<ListToolsResult>(list());
            foreach (var filter in options.Filters.Request.ListToolsFilters.Reverse())
            {
                _list = filter(_list);
            }
        }

        public static McpServer Server(IServiceProvider services) => services.GetRequiredService<McpServer>();

        public static Pipeline Of(McpRoundTripBenchmarks.Harness harness, Func<ListToolsResult> list) => new(harness.Services, list);

        public ValueTask<ResultOrAlternate<CallToolResult>> CallAsync(RequestContext<CallToolRequestParams> context)
        {
            context.Server = _server;
            context.Services = _server.Services;
            context.MatchedPrimitive = _tool;

            // As the SDK does for every call: the invocation filters bound to their next steps by closures made now.
            var current = _ordinary;
            for (var i = _outer.Count - 1; i >= 0; i--)
            {
                var next = current;
                var filter = _outer[i];
                current = (request, cancellationToken) => filter(request, next, cancellationToken);
            }

            return current(context, CancellationToken.None);
        }

        public ValueTask<ListToolsResult> ListAsync(RequestContext<ListToolsRequestParams> context) => _list(context, CancellationToken.None);
    }
}
