using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PolicyLayer.Gateway;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// The latency the HTTP gateway adds to a tools/call: one trivial Streamable HTTP MCP server (JSON answers), called by
/// the same HttpClient directly, through <c>MapPolicyLayerGateway</c> (HTTP upstream) and through the floor forwarder (the
/// least relay on the same stack, <see cref="FloorForwarder"/>), in one process, in one run, in the order direct,
/// gateway, floor, floor, gateway, direct. 1 client, then 50 concurrent clients (each its own session); p50, p99 and
/// throughput; then the managed memory of idle sessions.
/// </summary>
/// <remarks>
/// <c>dotnet benchmarks/PolicyLayer.Benchmarks/bin/Release/net10.0/PolicyLayer.Benchmarks.dll --http-gateway-latency [--calls N] [--sessions N] [--warmup-rounds N] [--gateway-cli PATH [--gateway-env NAME=VALUE]...] [--nginx] [--allocation-types]</c>;
/// with <c>--gateway-cli</c> the gateway is <c>policylayer proxy --listen</c> (PATH: policylayer.dll or the native
/// executable) as a process of its own, and CPU and context switches per call are both processes' together.
/// <c>--allocation-types</c> (in one process only) then prints the types one call allocates through the gateway and
/// through the floor forwarder (allocation-tick samples over 20,000 calls each), largest difference first.
/// </remarks>
public static class HttpGatewayLatency
{
    private const string Policy = """
        { "version": "1", "default": "deny", "tools": { "echo": { "limits": [ { "counter": "echo_rate", "window": "minute", "max": 100000000, "scope": "session" } ] } } }
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var calls = Option(args, "--calls", 5_000);
        var idleSessions = Option(args, "--sessions", 500);
        var warmupRounds = Option(args, "--warmup-rounds", 1);
        if (args.Contains("--server-only"))
        {
            // The trivial server as a process of its own (for --gateway-cli), until its input ends.
            await using var alone = await StartAsync(app => app.MapPost("/mcp", TrivialServerAsync));
            Console.Error.WriteLine("listening on " + Endpoint(alone));
            while (await Console.In.ReadLineAsync() is not null)
            {
            }

            return 0;
        }

        if (StringOption(args, "--forwarder-only") is { } forwardTo)
        {
            // The floor forwarder as a process of its own (for --gateway-cli), until its input ends.
            var target = new Uri(forwardTo);
            await using var alone = await StartAsync(app => app.MapPost("/mcp", context => FloorForwarder.ForwardAsync(context, target)), (builder, _) => builder.WebHost.UseGatewaySockets());
            Console.Error.WriteLine("listening on " + Endpoint(alone));
            while (await Console.In.ReadLineAsync() is not null)
            {
            }

            return 0;
        }

        if (StringOption(args, "--nginx-only") is { } nginxTo)
        {
            // nginx as a reverse proxy to the server, for --nginx: a relay in C, the floor of any HTTP hop on this machine.
            return await NginxFloor.RunAsync(new Uri(nginxTo));
        }

        // With --gateway-cli, client, server and gateway are three processes, as they are where the gateway is used.
        var cli = StringOption(args, "--gateway-cli");
        await using var serverProcess = cli is null ? null : await ChildProcess.StartAsync(ServerOnly(), []);
        await using var server = cli is not null ? null : await StartAsync(app => app.MapPost("/mcp", TrivialServerAsync));
        var upstream = serverProcess?.Endpoint ?? Endpoint(server!);
        // The gateway: `policylayer proxy --listen` as a process of its own (--gateway-cli PATH: what users run), or
        // MapPolicyLayerGateway in this process (the embedded library).
        using var policyFile = cli is null ? null : new PolicyFile();
        await using var gatewayProcess = cli is null ? null : await ChildProcess.StartAsync(GatewayCli(cli, policyFile!.Path, upstream, idleSessions + 100), StringOptions(args, "--gateway-env"));
        await using var gatewayApp = cli is not null ? null : await StartAsync(
            app => app.MapPolicyLayerGateway("/mcp"),
            (builder, services) =>
            {
                // Kestrel as `policylayer proxy --listen` runs it.
                builder.WebHost.UseGatewaySockets();
                services.AddPolicyLayer(o => o.Policy = PolicyDocument.Parse(Policy));
                services.AddPolicyLayerGateway(o =>
                {
                    o.Upstream = McpUpstream.Http(upstream);
                    o.TrustedGrant = "bench";
                    o.MaxSessions = idleSessions + 100;
                });
            });
        var gateway = gatewayProcess?.Endpoint ?? Endpoint(gatewayApp!);
        // The floor: the least forwarder on the same stack (FloorForwarder), a process of its own beside the CLI's (with
        // the inline socket completions the CLI sets for itself), else in this process.
        await using var floorProcess = cli is null ? null : await ChildProcess.StartAsync(ForwarderOnly(upstream), ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1"]);
        await using var floorApp = cli is not null ? null : await StartAsync(app => app.MapPost("/mcp", context => FloorForwarder.ForwardAsync(context, upstream)), (builder, _) => builder.WebHost.UseGatewaySockets());
        var floor = floorProcess?.Endpoint ?? Endpoint(floorApp!);
        // --nginx: nginx in front of the same server, measured beside the others (what a relay written in C adds here).
        await using var nginxProcess = args.Contains("--nginx") ? await ChildProcess.StartAsync(NginxOnly(upstream), []) : null;
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 });
        Console.WriteLine($"{Environment.ProcessorCount} cores; .NET {Environment.Version}; {calls} calls per client after {warmupRounds} untimed round(s) of both paths and {calls / 5} warm-up calls; gateway: {(cli is null ? "MapPolicyLayerGateway in this process" : "policylayer proxy --listen, " + cli + ", server and gateway each a process of its own")}; load: {File.ReadAllText("/proc/loadavg").Trim()}");

        // Warm-up of both paths at both concurrencies first, untimed, so that the JIT's tiers are settled (as in a
        // long-running gateway, or the NativeAOT binary) before anything is measured: a short run otherwise times tier-0
        // code on the path that ran last.
        foreach (var clients in new[] { 1, 50 })
        {
            for (var round = 0; round < warmupRounds; round++)
            {
                var perClient = clients == 1 ? calls : Math.Max(200, calls / clients);
                await MeasureAsync(http, upstream, clients, perClient, serverProcess, null);
                await MeasureAsync(http, gateway, clients, perClient, serverProcess, gatewayProcess);
                await MeasureAsync(http, floor, clients, perClient, serverProcess, floorProcess);
                if (nginxProcess is not null)
                {
                    await MeasureAsync(http, nginxProcess.Endpoint, clients, perClient, serverProcess, null);
                }
            }
        }

        foreach (var clients in new[] { 1, 50 })
        {
            var perClient = clients == 1 ? calls : Math.Max(200, calls / clients);
            var d1 = await MeasureAsync(http, upstream, clients, perClient, serverProcess, null);
            var g1 = await MeasureAsync(http, gateway, clients, perClient, serverProcess, gatewayProcess);
            var f1 = await MeasureAsync(http, floor, clients, perClient, serverProcess, floorProcess);
            var f2 = await MeasureAsync(http, floor, clients, perClient, serverProcess, floorProcess);
            var g2 = await MeasureAsync(http, gateway, clients, perClient, serverProcess, gatewayProcess);
            var d2 = await MeasureAsync(http, upstream, clients, perClient, serverProcess, null);
            var direct = d1.Merge(d2);
            var through = g1.Merge(g2);
            var least = f1.Merge(f2);
            if (nginxProcess is not null)
            {
                var n = (await MeasureAsync(http, nginxProcess.Endpoint, clients, perClient, serverProcess, null))
                    .Merge(await MeasureAsync(http, nginxProcess.Endpoint, clients, perClient, serverProcess, null));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{clients,2} client(s): nginx p50 {n.P(50):F1} µs p99 {n.P(99):F1} µs {n.Throughput:F0}/s, added p50 {n.P(50) - direct.P(50):F1} µs; throughput {n.Throughput / direct.Throughput:P0} of direct | gateway − nginx: p50 {through.P(50) - n.P(50):F1} µs"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{clients,2} client(s): direct p50 {direct.P(50):F1} µs p99 {direct.P(99):F1} µs {direct.Throughput:F0}/s | gateway p50 {through.P(50):F1} µs p99 {through.P(99):F1} µs {through.Throughput:F0}/s | added p50 {through.P(50) - direct.P(50):F1} µs p99 {through.P(99) - direct.P(99):F1} µs; throughput {through.Throughput / direct.Throughput:P0} of direct; CPU per call {direct.CpuPerCall:F0} → {through.CpuPerCall:F0} µs, context switches per call {direct.SwitchesPerCall:F1} → {through.SwitchesPerCall:F1}, allocated per call {direct.AllocatedPerCall:F0} → {through.AllocatedPerCall:F0} B, thread-pool work items per call {direct.WorkItemsPerCall:F1} → {through.WorkItemsPerCall:F1}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{clients,2} client(s): floor forwarder p50 {least.P(50):F1} µs p99 {least.P(99):F1} µs {least.Throughput:F0}/s, added p50 {least.P(50) - direct.P(50):F1} µs; throughput {least.Throughput / direct.Throughput:P0} of direct; CPU per call {least.CpuPerCall:F0} µs, context switches per call {least.SwitchesPerCall:F1}, allocated per call {least.AllocatedPerCall:F0} B | gateway − floor: p50 {through.P(50) - least.P(50):F1} µs, CPU per call {through.CpuPerCall - least.CpuPerCall:F0} µs"));
        }

        if (gatewayProcess is not null)
        {
            // The gateway's heap is in its own process, out of reach of this one's GC.
            return 0;
        }

        if (args.Contains("--allocation-types"))
        {
            // What one call allocates, by type (the runtime's allocation-tick samples), through the gateway and through the
            // floor forwarder: the types that make up the gateway's bytes above the floor's. Client and server are in both.
            using var listener = new AllocationListener();
            var traced = Math.Max(calls, 20_000);
            listener.Start();
            await MeasureAsync(http, gateway, 1, traced, serverProcess, null);
            var throughGateway = listener.Stop(traced);
            listener.Start();
            await MeasureAsync(http, floor, 1, traced, serverProcess, null);
            var throughFloor = listener.Stop(traced);
            Console.WriteLine("| type (allocation-tick samples) | gateway B/call | floor forwarder B/call | gateway − floor |");
            Console.WriteLine("|---|---:|---:|---:|");
            foreach (var type in throughGateway.Keys.Union(throughFloor.Keys).OrderByDescending(t => Math.Abs(throughGateway.GetValueOrDefault(t) - throughFloor.GetValueOrDefault(t))).Take(30))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {type} | {throughGateway.GetValueOrDefault(type):F0} | {throughFloor.GetValueOrDefault(type):F0} | {throughGateway.GetValueOrDefault(type) - throughFloor.GetValueOrDefault(type):F0} |"));
            }
        }

        // Memory per idle session: sessions opened (initialize, initialized) and left idle, managed heap after a full GC.
        var before = Heap();
        var sessions = new List<string>();
        for (var i = 0; i < idleSessions; i++)
        {
            sessions.Add((await InitializeAsync(http, gateway)).Session!);
        }

        var after = Heap();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"idle sessions: {idleSessions}; managed heap +{(after - before) / 1024.0 / 1024:F1} MiB = {(after - before) / (double)idleSessions / 1024:F1} KiB per session (gateway and its HTTP upstream session, both in this process)"));
        return 0;
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task<Result> MeasureAsync(HttpClient http, Uri endpoint, int clients, int callsEach, ChildProcess? server, ChildProcess? gateway)
    {
        var sessions = new (string? Session, string? Version)[clients];
        for (var i = 0; i < clients; i++)
        {
            sessions[i] = await InitializeAsync(http, endpoint);
        }

        // Warm-up, then the timed calls.
        await Task.WhenAll(sessions.Select(s => CallManyAsync(http, endpoint, s.Session, Math.Max(50, callsEach / 5), null)));
        var samples = new double[clients][];
        var cpuBefore = Cpu(server, gateway);
        var switchesBefore = ContextSwitches(server, gateway);
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var workItemsBefore = ThreadPool.CompletedWorkItemCount;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async i => samples[i] = await CallManyAsync(http, endpoint, sessions[i].Session, callsEach, new double[callsEach])));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var total = clients * callsEach;
        var cpu = (Cpu(server, gateway) - cpuBefore).TotalMicroseconds / total;
        var switches = (ContextSwitches(server, gateway) - switchesBefore) / (double)total;
        var allocated = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / (double)total;
        var workItems = (ThreadPool.CompletedWorkItemCount - workItemsBefore) / (double)total;
        foreach (var (session, _) in sessions)
        {
            using var delete = new HttpRequestMessage(HttpMethod.Delete, endpoint);
            delete.Headers.Add("Mcp-Session-Id", session);
            using var _ = await http.SendAsync(delete);
        }

        return new Result([.. samples.SelectMany(s => s)], total / elapsed.TotalSeconds, cpu, switches, allocated, workItems);
    }

    /// <summary>The CPU time of this process and the others of the measurement so far.</summary>
    private static TimeSpan Cpu(ChildProcess? server, ChildProcess? gateway) =>
        Process.GetCurrentProcess().TotalProcessorTime + (server?.Cpu() ?? TimeSpan.Zero) + (gateway?.Cpu() ?? TimeSpan.Zero);

    private static long ContextSwitches(ChildProcess? server, ChildProcess? gateway) =>
        ContextSwitches("/proc/self") + (server?.ContextSwitches() ?? 0) + (gateway?.ContextSwitches() ?? 0);

    /// <summary>The context switches of every thread of a process so far (each one a thread that slept and was woken, or was preempted).</summary>
    private static long ContextSwitches(string process)
    {
        long sum = 0;
        foreach (var task in Directory.EnumerateDirectories(process + "/task"))
        {
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        sum += long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return sum;
    }

    private static async Task<double[]> CallManyAsync(HttpClient http, Uri endpoint, string? session, int count, double[]? samples)
    {
        var body = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}""");
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await PostAsync(http, endpoint, session, body);
            var text = await response.Content.ReadAsStringAsync();
            if (!text.Contains("\"ran echo\"", StringComparison.Ordinal))
            {
                throw new InvalidOperationException("unexpected answer: " + text);
            }

            if (samples is not null)
            {
                samples[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            }
        }

        return samples ?? [];
    }

    private static async Task<(string? Session, string? Version)> InitializeAsync(HttpClient http, Uri endpoint)
    {
        using var response = await PostAsync(http, endpoint, null, Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"""));
        await response.Content.ReadAsStringAsync();
        var session = response.Headers.TryGetValues("Mcp-Session-Id", out var values) ? values.First() : null;
        using var _ = await PostAsync(http, endpoint, session, Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","method":"notifications/initialized"}"""));
        return (session, "2025-06-18");
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, Uri endpoint, string? session, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        if (session is not null)
        {
            request.Headers.Add("Mcp-Session-Id", session);
        }

        return http.SendAsync(request);
    }

    /// <summary>A minimal Streamable HTTP MCP server: JSON answers, a session id on initialize, 202 for notifications.</summary>
    private static async Task TrivialServerAsync(HttpContext context)
    {
        using var document = await JsonDocument.ParseAsync(context.Request.Body);
        var root = document.RootElement;
        if (!root.TryGetProperty("id", out var id))
        {
            context.Response.StatusCode = StatusCodes.Status202Accepted;
            return;
        }

        var method = root.GetProperty("method").GetString();
        var result = method switch
        {
            "initialize" => """{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"trivial","version":"1"}}""",
            "tools/list" => """{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}""",
            "tools/call" => """{"content":[{"type":"text","text":"ran echo"}]}""",
            _ => "{}",
        };
        if (method == "initialize")
        {
            context.Response.Headers["Mcp-Session-Id"] = Guid.NewGuid().ToString("N");
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync("""{"jsonrpc":"2.0","id":""" + id.GetRawText() + ""","result":""" + result + "}");
    }

    private static async Task<WebApplication> StartAsync(Action<WebApplication> map, Action<WebApplicationBuilder, IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        services?.Invoke(builder, builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return app;
    }

    private static Uri Endpoint(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/mcp");

    private static string? StringOption(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    /// <summary>Every value of an option that may be given more than once.</summary>
    private static string[] StringOptions(string[] args, string name) =>
        [.. args.Index().Where(a => a.Item == name && a.Index + 1 < args.Length).Select(a => args[a.Index + 1])];

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <param name="CpuPerCall">The process's CPU time per call (client, server and, through the gateway, the gateway), µs.</param>
    /// <param name="SwitchesPerCall">The process's context switches per call: how often a thread had to be woken or was preempted.</param>
    /// <param name="AllocatedPerCall">Bytes allocated in this process per call.</param>
    /// <param name="WorkItemsPerCall">Thread-pool work items run per call: each one a hop from the thread that had the data to a pool thread.</param>
    private sealed record Result(double[] Samples, double Throughput, double CpuPerCall, double SwitchesPerCall, double AllocatedPerCall, double WorkItemsPerCall)
    {
        public Result Merge(Result other)
        {
            double[] all = [.. Samples, .. other.Samples];
            Array.Sort(all);
            return new Result(all, (Throughput + other.Throughput) / 2, (CpuPerCall + other.CpuPerCall) / 2, (SwitchesPerCall + other.SwitchesPerCall) / 2, (AllocatedPerCall + other.AllocatedPerCall) / 2, (WorkItemsPerCall + other.WorkItemsPerCall) / 2);
        }

        public double P(int percentile)
        {
            var sorted = Samples.Order().ToArray();
            return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1)];
        }
    }

    /// <summary>This program as the trivial server alone.</summary>
    private static ProcessStartInfo ServerOnly() =>
        new("dotnet") { ArgumentList = { typeof(HttpGatewayLatency).Assembly.Location, "--http-gateway-latency", "--server-only" } };

    /// <summary>This program as the floor forwarder alone, in front of <paramref name="upstream"/>.</summary>
    private static ProcessStartInfo NginxOnly(Uri upstream) =>
        new("dotnet") { ArgumentList = { typeof(HttpGatewayLatency).Assembly.Location, "--http-gateway-latency", "--nginx-only", upstream.ToString() } };

    private static ProcessStartInfo ForwarderOnly(Uri upstream) =>
        new("dotnet") { ArgumentList = { typeof(HttpGatewayLatency).Assembly.Location, "--http-gateway-latency", "--forwarder-only", upstream.ToString() } };

    /// <summary><c>policylayer proxy --listen http://127.0.0.1:0/mcp --upstream URL --grant bench</c>: <c>dotnet PATH</c> for a .dll, else the executable.</summary>
    private static ProcessStartInfo GatewayCli(string cli, string policyPath, Uri upstream, int maxSessions)
    {
        var start = cli.EndsWith(".dll", StringComparison.Ordinal) ? new ProcessStartInfo("dotnet") { ArgumentList = { cli } } : new ProcessStartInfo(cli);
        foreach (var argument in new[] { "proxy", "--policy", policyPath, "--listen", "http://127.0.0.1:0/mcp", "--upstream", upstream.ToString(), "--grant", "bench", "--max-sessions", maxSessions.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    private sealed class PolicyFile : IDisposable
    {
        public PolicyFile() => File.WriteAllText(Path, Policy);

        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"bench-gateway-{Guid.NewGuid():N}.json");

        public void Dispose() => File.Delete(Path);
    }

    /// <summary>A process of the measurement that says "listening on URL" on stderr; its CPU and context switches count with this process's.</summary>
    private sealed class ChildProcess : IAsyncDisposable
    {
        private readonly Process _process;

        private ChildProcess(Process process, Uri endpoint)
        {
            _process = process;
            Endpoint = endpoint;
        }

        public Uri Endpoint { get; }

        public static async Task<ChildProcess> StartAsync(ProcessStartInfo start, string[] environment)
        {
            foreach (var variable in environment)
            {
                // Such as DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1, for that process only.
                if (variable.Split('=', 2) is [var name, var value])
                {
                    start.Environment[name] = value;
                }
            }

            start.RedirectStandardError = true;
            start.RedirectStandardInput = true;
            start.UseShellExecute = false;
            var process = Process.Start(start)!;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (await process.StandardError.ReadLineAsync(timeout.Token) is { } line)
            {
                const string Listening = "listening on ";
                var at = line.IndexOf(Listening, StringComparison.Ordinal);
                if (at >= 0)
                {
                    var url = line[(at + Listening.Length)..].Split(' ')[0];
                    _ = DrainAsync(process);
                    return new ChildProcess(process, new Uri(url));
                }
            }

            throw new InvalidOperationException($"{start.FileName} {string.Join(' ', start.ArgumentList)} ended before it listened; exit code {(process.HasExited ? process.ExitCode : -1)}");
        }

        /// <summary>The process's CPU time (user and system) so far.</summary>
        public TimeSpan Cpu()
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }

        public long ContextSwitches() => HttpGatewayLatency.ContextSwitches("/proc/" + _process.Id.ToString(CultureInfo.InvariantCulture));

        public async ValueTask DisposeAsync()
        {
            _process.Kill(entireProcessTree: true); // the nginx wrapper's nginx too
            await _process.WaitForExitAsync();
            _process.Dispose();
        }

        private static async Task DrainAsync(Process process)
        {
            // Its log goes nowhere, but must not fill the pipe.
            while (await process.StandardError.ReadLineAsync() is not null)
            {
            }
        }
    }
}
