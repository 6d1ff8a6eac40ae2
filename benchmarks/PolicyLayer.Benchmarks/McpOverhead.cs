using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Server;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// The middleware's cost per tools/call round trip, measured so that a noisy machine cancels out: every configuration
/// runs in one process, in blocks of calls long enough to span many scheduler quanta, and each block is paired with a
/// block of the baseline run right beside it (A B, then B A in the next round, so that neither side always goes
/// first). For every pair it takes the ratio of the two blocks' wall time per call and of their CPU time per call;
/// it reports the median of those per-pair ratios, which a drift of the machine between pairs does not move.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/PolicyLayer.Benchmarks -- --mcp-overhead [--transport stdio|http-stateful|http-stateless] [--rounds N] [--block-ms N | --calls N] [--twin] [--reverse]</c>
/// <para>
/// Configurations: no filter at all (the baseline); a control of pass-through filters in the places PolicyLayer puts
/// its own (the method is only as good as the control reads close to zero); PolicyLayer allowing the call; PolicyLayer
/// with a counted limit. <c>stdio</c> (the default) is the SDK's stream transport over in-process pipes; the
/// <c>http-*</c> transports are a real ASP.NET Core Streamable HTTP server on a loopback port with the SDK's HTTP
/// client, in that session mode. CPU time is the whole process's (client, server and runtime), read from the
/// operating system's accounting at microsecond resolution (<see cref="Environment.CpuUsage"/>). <c>--twin</c> adds a
/// second server without PolicyLayer: what one server reads against another when nothing differs.
/// </para>
/// </remarks>
public static class McpOverhead
{
    private static readonly Dictionary<string, object?> EchoArguments = new() { ["text"] = "hello" };

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = IntOption(args, "--rounds", 20);
        var blockMilliseconds = IntOption(args, "--block-ms", 200);
        var fixedCalls = IntOption(args, "--calls", 0);
        var transport = StringOption(args, "--transport", "stdio");
        var twin = args.Contains("--twin");
        string[] names = twin
            ? ["without PolicyLayer (baseline)", "control: pass-through filters", "PolicyLayer, allowed", "PolicyLayer, counted limit", "twin: without PolicyLayer, a server of its own"]
            : ["without PolicyLayer (baseline)", "control: pass-through filters", "PolicyLayer, allowed", "PolicyLayer, counted limit"];
        var mode = transport switch
        {
            "stdio" => (ModelContextProtocol.AspNetCore.HttpServerSessionMode?)null,
            "http-stateful" => ModelContextProtocol.AspNetCore.HttpServerSessionMode.Stateful,
            "http-stateless" => ModelContextProtocol.AspNetCore.HttpServerSessionMode.Stateless,
            _ => throw new ArgumentException($"--transport must be stdio, http-stateful or http-stateless; it is '{transport}'."),
        };
        IMcpHarness[] harnesses = mode is not { } httpMode
            ?
            [
                await McpRoundTripBenchmarks.Harness.StartAsync(null),
                await McpRoundTripBenchmarks.Harness.StartAsync(null, passThroughFilters: true),
                await McpRoundTripBenchmarks.Harness.StartAsync(McpRoundTripBenchmarks.AllowPolicy),
                await McpRoundTripBenchmarks.Harness.StartAsync(McpRoundTripBenchmarks.LimitPolicy),
                .. twin ? [await McpRoundTripBenchmarks.Harness.StartAsync(null)] : Array.Empty<IMcpHarness>(),
            ]
            :
            [
                await McpHttpHarness.StartAsync(null, httpMode),
                await McpHttpHarness.StartAsync(null, httpMode, passThroughFilters: true),
                await McpHttpHarness.StartAsync(McpRoundTripBenchmarks.AllowPolicy, httpMode),
                await McpHttpHarness.StartAsync(McpHttpHarness.LimitPolicy, httpMode),
                .. twin ? [await McpHttpHarness.StartAsync(null, httpMode)] : Array.Empty<IMcpHarness>(),
            ];

        // --reverse: the compared configurations paired with the baseline in the opposite order within each round, to
        // tell a configuration's cost from its place in the program.
        if (args.Contains("--reverse"))
        {
            Array.Reverse(harnesses, 1, harnesses.Length - 1);
            Array.Reverse(names, 1, names.Length - 1);
        }

        var loadBefore = LoadAverage();

        // Warm-up, every path jitted to its final tier; then the block size that makes a baseline block last --block-ms.
        foreach (var h in harnesses)
        {
            await RunBlockAsync(h, 2_000);
        }

        var calls = fixedCalls;
        if (calls <= 0)
        {
            var probe = await RunBlockAsync(harnesses[0], 500);
            calls = Math.Max(100, (int)(blockMilliseconds * 1_000 / probe.WallMicroseconds));
        }

        // wall[k][r], cpu[k][r]: configuration k's block in round r, and the baseline block paired with it.
        var wall = names.Select(_ => new List<double>()).ToArray();
        var cpu = names.Select(_ => new List<double>()).ToArray();
        var wallRatio = names.Select(_ => new List<double>()).ToArray();
        var cpuRatio = names.Select(_ => new List<double>()).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            for (var k = 1; k < harnesses.Length; k++)
            {
                Block baseline, measured;
                if (round % 2 == 0)
                {
                    baseline = await RunBlockAsync(harnesses[0], calls);
                    measured = await RunBlockAsync(harnesses[k], calls);
                }
                else
                {
                    measured = await RunBlockAsync(harnesses[k], calls);
                    baseline = await RunBlockAsync(harnesses[0], calls);
                }

                wall[0].Add(baseline.WallMicroseconds);
                cpu[0].Add(baseline.CpuMicroseconds);
                wall[k].Add(measured.WallMicroseconds);
                cpu[k].Add(measured.CpuMicroseconds);
                wallRatio[k].Add(measured.WallMicroseconds / baseline.WallMicroseconds);
                cpuRatio[k].Add(measured.CpuMicroseconds / baseline.CpuMicroseconds);
            }
        }

        foreach (var h in harnesses)
        {
            await h.DisposeAsync();
        }

        var loadAfter = LoadAverage();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{transport}: {rounds} rounds, each configuration paired with a baseline block beside it (A B / B A); {calls} calls per block; {Environment.ProcessorCount} cores; .NET {Environment.Version}"));
        Console.WriteLine($"load average before: {loadBefore}; after: {loadAfter}");
        Console.WriteLine("| configuration | wall µs/call | wall vs baseline, median of pairs [IQR] | CPU µs/call | CPU vs baseline, median of pairs [IQR] |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        for (var k = 0; k < names.Length; k++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {names[k]} | {Median(wall[k]):F2} | {(k == 0 ? "–" : Percent(wallRatio[k]))} | {Median(cpu[k]):F2} | {(k == 0 ? "–" : Percent(cpuRatio[k]))} |"));
        }

        return 0;
    }

    internal static async Task<Block> RunBlockAsync(IMcpHarness harness, int calls)
    {
        var client = harness.Client;
        var cpuBefore = Environment.CpuUsage.TotalTime;
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < calls; i++)
        {
            await client.CallToolAsync("echo", EchoArguments);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var cpu = Environment.CpuUsage.TotalTime - cpuBefore;
        return new Block(elapsed.TotalMicroseconds / calls, cpu.TotalMicroseconds / calls);
    }

    private static string Percent(List<double> ratios)
    {
        var sorted = ratios.Order().ToArray();
        return string.Create(CultureInfo.InvariantCulture,
            $"{(Quantile(sorted, 0.5) - 1) * 100:+0.0;-0.0} % [{(Quantile(sorted, 0.25) - 1) * 100:+0.0;-0.0}, {(Quantile(sorted, 0.75) - 1) * 100:+0.0;-0.0}]");
    }

    internal static double Median(List<double> values) => Quantile([.. values.Order()], 0.5);

    // Linear interpolation between the closest ranks.
    internal static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + ((position - below) * (sorted[above] - sorted[below]));
    }

    internal static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string StringOption(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    internal static int IntOption(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    internal readonly record struct Block(double WallMicroseconds, double CpuMicroseconds);
}

/// <summary>
/// Filters that only call the next one, in the three places PolicyLayer puts its own (first in the alternate-result
/// pipeline, around the tool, around tools/list): the control of the overhead measurements.
/// </summary>
internal static class PassThroughFilters
{
    public static void Add(IMcpServerBuilder builder)
    {
        builder.WithRequestFilters(static filters =>
        {
            filters.AddCallToolFilter(static next => (context, cancellationToken) => next(context, cancellationToken));
            filters.AddListToolsFilter(static next => (context, cancellationToken) => next(context, cancellationToken));
        });
        builder.Services.AddOptions<McpServerOptions>().Configure(static options =>
            options.Filters.Request.CallToolWithAlternateFilters.Insert(0, static (context, next, cancellationToken) => next(context, cancellationToken)));
    }
}
