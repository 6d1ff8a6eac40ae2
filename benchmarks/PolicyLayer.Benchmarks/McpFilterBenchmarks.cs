using System.Diagnostics;
using System.Security.Claims;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer.Mcp;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// What the middleware's filters cost per call without a transport: the outer call filter and the tool's wrapper
/// (<see cref="PolicyFilters.GateAsync"/> and <see cref="PolicyFilters.WrapToolAsync"/>, with the gate and evaluator
/// behind them) around a tool that returns at once, and the tools/list filter on a list of 20 tools. Beside them, the
/// same pipeline with pass-through filters of the same shape (an invocation filter outside, a call filter inside),
/// and with no filter at all.
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
        _allowed = await McpRoundTripBenchmarks.Harness.StartAsync(McpRoundTripBenchmarks.AllowPolicy);
        _limited = await McpRoundTripBenchmarks.Harness.StartAsync(McpRoundTripBenchmarks.LimitPolicy);
        _none = Pipeline.Without(_plain.Services);
        _passThrough = Pipeline.PassThrough(_plain.Services);
        _allowedPipeline = Pipeline.WithPolicyLayer(_allowed.Services);
        _limitedPipeline = Pipeline.WithPolicyLayer(_limited.Services);
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
        _allowedPipeline.Filters!.FilterList(NewList());
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _plain.DisposeAsync();
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
    public ListToolsResult List20_NoFilter() => NewList();

    [Benchmark]
    public ListToolsResult List20_PolicyLayer() => _allowedPipeline.Filters!.FilterList(NewList());

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
            nameof(List20_PolicyLayer) => () => Task.FromResult(bench.List20_PolicyLayer()),
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

    /// <summary>The SDK's tools/call pipeline around a tool that answers at once: outer invocation filter, then call filter.</summary>
    private sealed class Pipeline
    {
        private readonly McpServer _server;
        private readonly McpServerTool _tool;
        private readonly McpRequestInvocationFilter<CallToolRequestParams, ResultOrAlternate<CallToolResult>>? _outer;
        private readonly McpRequestHandler<CallToolRequestParams, ResultOrAlternate<CallToolResult>> _ordinary;

        private Pipeline(
            IServiceProvider services,
            McpRequestInvocationFilter<CallToolRequestParams, ResultOrAlternate<CallToolResult>>? outer,
            McpRequestFilter<CallToolRequestParams, CallToolResult>? inner,
            PolicyFilters? filters)
        {
            _server = Server(services);
            _tool = _server.ServerOptions.ToolCollection!.TryGetPrimitive("echo", out var tool) ? tool : throw new InvalidOperationException("No echo tool.");
            _outer = outer;
            Filters = filters;
            McpRequestHandler<CallToolRequestParams, CallToolResult> handler = static (_, _) => new ValueTask<CallToolResult>(EchoResult);
            if (inner is not null)
            {
                handler = inner(handler);
            }

            // As the SDK's ordinary pipeline: an async step that awaits the call filters and wraps the result.
            _ordinary = async (request, cancellationToken) => await handler(request, cancellationToken).ConfigureAwait(false);
        }

        public PolicyFilters? Filters { get; }

        public static McpServer Server(IServiceProvider services) => services.GetRequiredService<McpServer>();

        public static Pipeline Without(IServiceProvider services) => new(services, null, null, null);

        public static Pipeline PassThrough(IServiceProvider services) => new(
            services,
            static async (context, next, cancellationToken) => await next(context, cancellationToken).ConfigureAwait(false),
            static next => async (context, cancellationToken) => await next(context, cancellationToken).ConfigureAwait(false),
            null);

        public static Pipeline WithPolicyLayer(IServiceProvider services)
        {
            var filters = services.GetRequiredService<PolicyFilters>();
            return new(
                services,
                filters.GateAsync,
                static next => (context, cancellationToken) => context.Services!.GetRequiredService<PolicyFilters>().WrapToolAsync(context, next, cancellationToken),
                filters);
        }

        public ValueTask<ResultOrAlternate<CallToolResult>> CallAsync(RequestContext<CallToolRequestParams> context)
        {
            context.Server = _server;
            context.Services = _server.Services;
            context.MatchedPrimitive = _tool;
            if (_outer is null)
            {
                return _ordinary(context, CancellationToken.None);
            }

            var outer = _outer;
            var next = _ordinary;
            McpRequestHandler<CallToolRequestParams, ResultOrAlternate<CallToolResult>> bound = (request, cancellationToken) => outer(request, next, cancellationToken);
            return bound(context, CancellationToken.None);
        }
    }
}
