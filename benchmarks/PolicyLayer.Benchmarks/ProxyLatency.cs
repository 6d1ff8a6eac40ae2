using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// The latency `policylayer proxy` adds to a tools/call: the same trivial stdio server is called N times directly
/// and N times through the proxy, one call at a time, in one run; each call is timed from the request's write to
/// the answer's read. Reports p50, p90, p99 and the differences.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/PolicyLayer.Benchmarks -- --proxy-latency [--calls N] [--warmup N] [--baseline-proxy OTHER/policylayer.dll]</c>
/// </remarks>
public static class ProxyLatency
{
    private const string Policy = """
        {
          "version": "1",
          "default": "deny",
          "tools": {
            "echo": { "limits": [ { "counter": "echo_rate", "window": "minute", "max": 10000000, "scope": "session" } ] }
          }
        }
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var calls = IntOption(args, "--calls", 20_000);
        var warmup = IntOption(args, "--warmup", 5_000);
        var self = typeof(ProxyLatency).Assembly.Location;
        var proxyDll = Path.Combine(AppContext.BaseDirectory, "policylayer.dll");
        var policy = Path.Combine(Path.GetTempPath(), "policylayer-proxy-latency.policy.json");
        await File.WriteAllTextAsync(policy, Policy);
        var dotnet = Environment.ProcessPath ?? "dotnet";

        Console.WriteLine($"calls: {calls} measured after {warmup} warm-up, one at a time; {Environment.ProcessorCount} cores; .NET {Environment.Version}");
        var direct = Measure("direct", dotnet, [self, "--trivial-mcp-server"], calls, warmup);
        string[] Proxy(string dll) => [dll, "proxy", "--policy", policy, "--", dotnet, self, "--trivial-mcp-server"];

        // --baseline-proxy PATH: another build of policylayer.dll measured in the same run, in the order A B B A, so that
        // a drift of the machine's speed during the run falls on both alike.
        var baselineDll = StringOption(args, "--baseline-proxy");
        double[] proxied;
        double[]? baseline = null;
        if (baselineDll is null)
        {
            proxied = Measure("proxied", dotnet, Proxy(proxyDll), calls, warmup);
        }
        else
        {
            var half = calls / 2;
            var firstNew = Measure("proxied", dotnet, Proxy(proxyDll), half, warmup);
            var firstBase = Measure("baseline", dotnet, Proxy(baselineDll), half, warmup);
            var secondBase = Measure("baseline", dotnet, Proxy(baselineDll), half, warmup);
            var secondNew = Measure("proxied", dotnet, Proxy(proxyDll), half, warmup);
            proxied = [.. firstNew, .. secondNew];
            baseline = [.. firstBase, .. secondBase];
            Array.Sort(proxied);
            Array.Sort(baseline);
        }

        Console.WriteLine();
        Console.WriteLine("| path | p50 (µs) | p90 (µs) | p99 (µs) | mean (µs) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Row("server called directly", direct);
        if (baseline is not null)
        {
            Row("through the baseline proxy (" + baselineDll + ")", baseline);
        }

        Row("through policylayer proxy", proxied);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| **added by the proxy** | **{Pct(proxied, 0.50) - Pct(direct, 0.50):0.0}** | {Pct(proxied, 0.90) - Pct(direct, 0.90):0.0} | {Pct(proxied, 0.99) - Pct(direct, 0.99):0.0} | {proxied.Average() - direct.Average():0.0} |"));
        return 0;
    }

    /// <summary>A trivial MCP server on stdio: answers initialize, tools/list (one read-only tool) and tools/call.</summary>
    public static int RunTrivialServer()
    {
        using var input = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
        using var output = Console.OpenStandardOutput();
        while (input.ReadLine() is { } line)
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (!root.TryGetProperty("id", out var id) || !root.TryGetProperty("method", out var method))
            {
                continue;
            }

            var result = method.GetString() switch
            {
                "initialize" => """{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"trivial","version":"1"}}""",
                "tools/list" => """{"tools":[{"name":"echo","description":"Echo the text.","annotations":{"readOnlyHint":true},"inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}}]}""",
                "tools/call" => """{"content":[{"type":"text","text":"ok"}],"isError":false}""",
                _ => "{}",
            };
            output.Write(Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":" + result + "}\n"));
            output.Flush();
        }

        return 0;
    }

    private static double[] Measure(string label, string command, string[] arguments, int calls, int warmup)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var server = Process.Start(start)!;
        var toServer = server.StandardInput.BaseStream;
        var fromServer = new StreamReader(server.StandardOutput.BaseStream, new UTF8Encoding(false));

        Call(toServer, fromServer, """{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"latency","version":"1"}}}""");
        Send(toServer, """{"jsonrpc":"2.0","method":"notifications/initialized"}""");

        var samples = new double[calls];
        for (var i = -warmup; i < calls; i++)
        {
            var request = Encoding.UTF8.GetBytes(
                "{\"jsonrpc\":\"2.0\",\"id\":" + (i + warmup + 1).ToString(CultureInfo.InvariantCulture) +
                ",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"hello\"}}}\n");
            var started = Stopwatch.GetTimestamp();
            toServer.Write(request);
            toServer.Flush();
            var answer = fromServer.ReadLine() ?? throw new InvalidOperationException(label + ": the server closed its output.");
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (!answer.Contains("\"ok\"", StringComparison.Ordinal))
            {
                throw new InvalidOperationException(label + ": unexpected answer " + answer);
            }

            if (i >= 0)
            {
                samples[i] = elapsed.TotalMicroseconds;
            }
        }

        toServer.Close();
        server.WaitForExit(5000);
        Array.Sort(samples);
        return samples;
    }

    private static void Call(Stream to, StreamReader from, string line)
    {
        Send(to, line);
        _ = from.ReadLine();
    }

    private static void Send(Stream to, string line)
    {
        to.Write(Encoding.UTF8.GetBytes(line + "\n"));
        to.Flush();
    }

    private static double Pct(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static void Row(string label, double[] sorted) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {Pct(sorted, 0.50):0.0} | {Pct(sorted, 0.90):0.0} | {Pct(sorted, 0.99):0.0} | {sorted.Average():0.0} |"));

    private static string? StringOption(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    private static int IntOption(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
