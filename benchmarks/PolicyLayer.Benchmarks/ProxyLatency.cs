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
/// <c>dotnet run -c Release --project benchmarks/PolicyLayer.Benchmarks -- --proxy-latency [--calls N] [--warmup N] [--proxy PATH/policylayer.dll | PATH/policylayer (native)] [--baseline-proxy OTHER/policylayer.dll | OTHER/policylayer] [--relay-rounds N] [--busy N]</c>
/// <para>
/// <c>--busy N</c> runs N CPU-bound processes at normal priority (each spinning on arithmetic) from before the first
/// measurement to after the last, so that "a busy machine" is the same for every build and every run: more runnable
/// threads than cores, where each wake-up of a proxy's thread waits for a scheduler slice.
/// </para>
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
        // --proxy PATH: the policylayer.dll to measure (src/PolicyLayer.Cli/bin/Release/net10.0/policylayer.dll, which runs
        // with its own dependencies); by default the copy next to this program.
        var proxyDll = StringOption(args, "--proxy") ?? Path.Combine(AppContext.BaseDirectory, "policylayer.dll");
        var policy = Path.Combine(Path.GetTempPath(), "policylayer-proxy-latency.policy.json");
        await File.WriteAllTextAsync(policy, Policy);
        var dotnet = Environment.ProcessPath ?? "dotnet";

        Console.WriteLine($"calls: {calls} measured after {warmup} warm-up, one at a time; {Environment.ProcessorCount} cores; .NET {Environment.Version}; load: {File.ReadAllText("/proc/loadavg").Trim()}");
        string[] Proxy(string dll) => [dll, "proxy", "--policy", policy, "--", dotnet, self, "--trivial-mcp-server"];

        var busy = IntOption(args, "--busy", 0);
        using var spinners = new Spinners(dotnet, self, busy);
        if (busy > 0)
        {
            Console.WriteLine($"busy: {busy} CPU-bound processes at normal priority, started before the first measurement");
        }

        // A proxy that is not a .dll is an executable (the NativeAOT build, artifacts/native/linux-x64/policylayer), run as is.
        (string Program, string[] Arguments) Command(string path) => path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? (dotnet, Proxy(path))
            : (path, Proxy(path)[1..]);

        // --relay-rounds N: the proxy against a minimal byte relay in the same topology (client, relay, server over pipes).
        if (IntOption(args, "--relay-rounds", 0) is > 0 and var rounds)
        {
            var baselinePath = StringOption(args, "--baseline-proxy");
            return CompareWithRelay(
                dotnet, [self, "--byte-relay", "--", dotnet, self, "--trivial-mcp-server"], Command(proxyDll), baselinePath is null ? null : Command(baselinePath), rounds, calls, warmup);
        }

        var direct = Measure("direct", dotnet, [self, "--trivial-mcp-server"], calls, warmup);

        // --baseline-proxy PATH: another build of policylayer.dll measured in the same run, in the order A B B A, so that
        // a drift of the machine's speed during the run falls on both alike.
        var baselineDll = StringOption(args, "--baseline-proxy");
        double[] proxied;
        double[]? baseline = null;
        if (baselineDll is null)
        {
            proxied = Measure("proxied", Command(proxyDll).Program, Command(proxyDll).Arguments, calls, warmup);
        }
        else
        {
            var half = calls / 2;
            var firstNew = Measure("proxied", Command(proxyDll).Program, Command(proxyDll).Arguments, half, warmup);
            var firstBase = Measure("baseline", Command(baselineDll).Program, Command(baselineDll).Arguments, half, warmup);
            var secondBase = Measure("baseline", Command(baselineDll).Program, Command(baselineDll).Arguments, half, warmup);
            var secondNew = Measure("proxied", Command(proxyDll).Program, Command(proxyDll).Arguments, half, warmup);
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

    /// <summary>
    /// The proxy against a minimal byte relay: <paramref name="rounds"/> pairs, each the relay and the proxy measured one
    /// after the other with <paramref name="calls"/> calls (alternating which goes first, so that a drift of the machine's
    /// speed falls on both alike); the ratio of their p50 per pair, and the median of those ratios. With a
    /// <paramref name="baseline"/> proxy each round measures three (relay, proxy, baseline, in an order that rotates) and
    /// also gives the baseline's ratio to the relay and the proxy's p50 over the baseline's.
    /// </summary>
    private static int CompareWithRelay(string dotnet, string[] relay, (string Program, string[] Arguments) proxy, (string Program, string[] Arguments)? baseline, int rounds, int calls, int warmup)
    {
        var ratios = new List<double>();
        var baselineRatios = new List<double>();
        var overBaseline = new List<double>();
        var relayAll = new List<double>();
        var proxyAll = new List<double>();
        Console.WriteLine();
        Console.WriteLine(baseline is null
            ? "| pair | byte relay p50 / p99 (µs) | policylayer proxy p50 / p99 (µs) | proxy ÷ relay, p50 | CPU per call, relay → proxy (µs) | context switches per call, relay → proxy |"
            : "| round | byte relay p50 / p99 (µs) | proxy p50 / p99 (µs) | baseline p50 / p99 (µs) | proxy ÷ relay | baseline ÷ relay | proxy ÷ baseline | CPU per call, relay / proxy / baseline (µs) | context switches per call, relay / proxy / baseline |");
        Console.WriteLine(baseline is null ? "|---:|---:|---:|---:|---:|---:|" : "|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (var round = 1; round <= rounds; round++)
        {
            // The order rotates: relay first, then the proxy first, then (with a baseline) the baseline first.
            var measured = new Dictionary<string, (double[] Samples, (double CpuMicroseconds, double Switches) Cost)>();
            string[] order = baseline is null
                ? round % 2 == 1 ? ["relay", "proxy"] : ["proxy", "relay"]
                : (round % 3) switch { 1 => ["relay", "proxy", "baseline"], 2 => ["proxy", "baseline", "relay"], _ => ["baseline", "relay", "proxy"] };
            foreach (var which in order)
            {
                var (program, arguments) = which switch { "relay" => (dotnet, relay), "proxy" => proxy, _ => baseline!.Value };
                var samples = Measure(which, program, arguments, calls, warmup, out var cost);
                measured[which] = (samples, cost);
            }

            var (relayed, relayCost) = measured["relay"];
            var (proxied, proxyCost) = measured["proxy"];
            var ratio = Pct(proxied, 0.50) / Pct(relayed, 0.50);
            ratios.Add(ratio);
            relayAll.AddRange(relayed);
            proxyAll.AddRange(proxied);
            if (baseline is null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {round} | {Pct(relayed, 0.50):0.0} / {Pct(relayed, 0.99):0.0} | {Pct(proxied, 0.50):0.0} / {Pct(proxied, 0.99):0.0} | {ratio:0.00}× | {relayCost.CpuMicroseconds:0} → {proxyCost.CpuMicroseconds:0} | {relayCost.Switches:0.0} → {proxyCost.Switches:0.0} |"));
                continue;
            }

            var (based, baseCost) = measured["baseline"];
            var baseRatio = Pct(based, 0.50) / Pct(relayed, 0.50);
            baselineRatios.Add(baseRatio);
            overBaseline.Add(Pct(proxied, 0.50) / Pct(based, 0.50));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {round} | {Pct(relayed, 0.50):0.0} / {Pct(relayed, 0.99):0.0} | {Pct(proxied, 0.50):0.0} / {Pct(proxied, 0.99):0.0} | {Pct(based, 0.50):0.0} / {Pct(based, 0.99):0.0} | {ratio:0.00}× | {baseRatio:0.00}× | {overBaseline[^1]:0.00}× | {relayCost.CpuMicroseconds:0} / {proxyCost.CpuMicroseconds:0} / {baseCost.CpuMicroseconds:0} | {relayCost.Switches:0.0} / {proxyCost.Switches:0.0} / {baseCost.Switches:0.0} |"));
        }

        double[] relaySorted = [.. relayAll.Order()];
        double[] proxySorted = [.. proxyAll.Order()];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"all: relay p50 / p99 {Pct(relaySorted, 0.50):0.0} / {Pct(relaySorted, 0.99):0.0} µs; proxy {Pct(proxySorted, 0.50):0.0} / {Pct(proxySorted, 0.99):0.0} µs"));
        Console.WriteLine("proxy ÷ relay, p50: " + Summary(ratios));
        if (baseline is not null)
        {
            Console.WriteLine("baseline ÷ relay, p50: " + Summary(baselineRatios));
            Console.WriteLine("proxy ÷ baseline, p50: " + Summary(overBaseline));
        }

        Console.WriteLine($"load at the end: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;

        static string Summary(List<double> values)
        {
            values.Sort();
            var median = values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
            return string.Create(CultureInfo.InvariantCulture, $"**median {median:0.000}×** (range {values[0]:0.00}–{values[^1]:0.00}, {values.Count} rounds)");
        }
    }

    /// <summary>A CPU-bound process (<c>--spin</c>): arithmetic on one thread until its standard input ends, so that it ends with the benchmark.</summary>
    public static int RunSpinner()
    {
        var spinning = new Thread(static () =>
        {
            ulong x = 88172645463325252;
            while (true)
            {
                // xorshift: arithmetic the compiler cannot fold away, no memory traffic, no system calls.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if (x == 0)
                {
                    Console.WriteLine(x);
                }
            }
        }) { IsBackground = true };
        spinning.Start();
        using var input = Console.OpenStandardInput();
        var buffer = new byte[64];
        while (input.Read(buffer) > 0)
        {
        }

        return 0;
    }

    /// <summary>N spinning processes (<see cref="RunSpinner"/>), ended by closing their input.</summary>
    private sealed class Spinners : IDisposable
    {
        private readonly List<Process> _processes = [];

        public Spinners(string dotnet, string self, int count)
        {
            for (var i = 0; i < count; i++)
            {
                var start = new ProcessStartInfo(dotnet) { RedirectStandardInput = true, UseShellExecute = false };
                start.ArgumentList.Add(self);
                start.ArgumentList.Add("--spin");
                _processes.Add(Process.Start(start)!);
            }

            if (count > 0)
            {
                // Started and spinning before the first measurement.
                Thread.Sleep(1000);
            }
        }

        public void Dispose()
        {
            foreach (var process in _processes)
            {
                process.StandardInput.Close();
                if (!process.WaitForExit(5000))
                {
                    process.Kill();
                }

                process.Dispose();
            }
        }
    }

    /// <summary>
    /// A minimal byte relay: starts <paramref name="command"/> and copies bytes both ways as they arrive (a blocking read,
    /// then one write, on a thread per direction), parsing nothing. The floor any stdio proxy's latency is set against.
    /// </summary>
    public static int RunByteRelay(string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in command[1..])
        {
            start.ArgumentList.Add(argument);
        }

        using var server = Process.Start(start)!;
        var toServer = new Thread(() => Copy(Console.OpenStandardInput(), server.StandardInput.BaseStream, closeAtEnd: true)) { IsBackground = true };
        var toClient = new Thread(() => Copy(server.StandardOutput.BaseStream, Console.OpenStandardOutput(), closeAtEnd: false));
        toServer.Start();
        toClient.Start();
        toClient.Join();
        server.WaitForExit();
        return 0;

        static void Copy(Stream from, Stream to, bool closeAtEnd)
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = from.Read(buffer)) > 0)
            {
                to.Write(buffer, 0, read);
                to.Flush();
            }

            if (closeAtEnd)
            {
                to.Close();
            }
        }
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

    private static double[] Measure(string label, string command, string[] arguments, int calls, int warmup) =>
        Measure(label, command, arguments, calls, warmup, out _);

    /// <param name="cost">The started process's CPU time (µs) and context switches per timed call: what it spends, not only how long it takes.</param>
    private static double[] Measure(string label, string command, string[] arguments, int calls, int warmup, out (double CpuMicroseconds, double Switches) cost)
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
        var before = Counters(server.Id);
        for (var i = -warmup; i < calls; i++)
        {
            if (i == 0)
            {
                before = Counters(server.Id);
            }

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

        var after = Counters(server.Id);
        cost = ((after.CpuTicks - before.CpuTicks) * 1e6 / 100 / calls, (after.Switches - before.Switches) / (double)calls);
        toServer.Close();
        server.WaitForExit(5000);
        Array.Sort(samples);
        return samples;
    }

    /// <summary>A process's CPU time so far (in clock ticks of 10 ms: utime + stime) and the context switches of all its threads.</summary>
    private static (long CpuTicks, long Switches) Counters(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        long switches = 0;
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        switches += long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return (ticks, switches);
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
