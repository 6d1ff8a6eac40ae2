using System.Diagnostics;
using System.Globalization;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// The middleware's cost per tools/call, measured so that thread-pool scheduling noise cancels out: the three
/// configurations of <see cref="McpRoundTripBenchmarks"/> (no PolicyLayer, allowed, counted limit) run in one
/// process, interleaved in rounds of a block of calls each, in a rotating order. For every block it records the
/// wall time per call and the process's CPU time per call; it reports the median over rounds of each, and the
/// difference to the baseline. CPU time per call is what a busy server pays; wall time is what one caller waits.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/PolicyLayer.Benchmarks -- --mcp-overhead [--rounds N] [--calls N] [--transport stdio|http-stateful|http-stateless]</c>
/// <para>
/// <c>stdio</c> (the default) is the SDK's stream transport over in-process pipes; the <c>http-*</c> transports are a
/// real ASP.NET Core Streamable HTTP server on a loopback port with the SDK's HTTP client, in that session mode.
/// </para>
/// </remarks>
public static class McpOverhead
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = IntOption(args, "--rounds", 30);
        var calls = IntOption(args, "--calls", 2_000);
        var transport = StringOption(args, "--transport", "stdio");
        var names = transport == "stdio"
            ? new[] { "without PolicyLayer", "PolicyLayer, allowed", "PolicyLayer, counted limit" }
            : ["without PolicyLayer", "PolicyLayer, allowed", "PolicyLayer, counted limit", "pass-through filters, no PolicyLayer"];
        IMcpHarness[] harnesses = transport switch
        {
            "stdio" =>
            [
                await McpRoundTripBenchmarks.Harness.StartAsync(null),
                await McpRoundTripBenchmarks.Harness.StartAsync(McpRoundTripBenchmarks.AllowPolicy),
                await McpRoundTripBenchmarks.Harness.StartAsync(McpRoundTripBenchmarks.LimitPolicy),
            ],
            "http-stateful" or "http-stateless" =>
            [
                await McpHttpHarness.StartAsync(null, HttpMode(transport)),
                await McpHttpHarness.StartAsync(McpRoundTripBenchmarks.AllowPolicy, HttpMode(transport)),
                await McpHttpHarness.StartAsync(McpHttpHarness.LimitPolicy, HttpMode(transport)),
                await McpHttpHarness.StartAsync(null, HttpMode(transport), passThroughFilters: true),
            ],
            _ => throw new ArgumentException($"--transport must be stdio, http-stateful or http-stateless; it is '{transport}'."),
        };
        var args1 = new Dictionary<string, object?> { ["text"] = "hello" };
        var wall = names.Select(_ => new List<double>()).ToArray();
        var cpu = names.Select(_ => new List<double>()).ToArray();
        var process = Process.GetCurrentProcess();

        // Warm-up: every path jitted to its final tier.
        for (var i = 0; i < 3 * calls; i++)
        {
            foreach (var h in harnesses)
            {
                await h.Client.CallToolAsync("echo", args1);
            }
        }

        for (var round = 0; round < rounds; round++)
        {
            for (var k = 0; k < harnesses.Length; k++)
            {
                var which = (round + k) % harnesses.Length;
                var client = harnesses[which].Client;
                process.Refresh();
                var cpuBefore = process.TotalProcessorTime;
                var started = Stopwatch.GetTimestamp();
                for (var i = 0; i < calls; i++)
                {
                    await client.CallToolAsync("echo", args1);
                }

                var elapsed = Stopwatch.GetElapsedTime(started);
                process.Refresh();
                wall[which].Add(elapsed.TotalMicroseconds / calls);
                cpu[which].Add((process.TotalProcessorTime - cpuBefore).TotalMicroseconds / calls);
            }
        }

        foreach (var h in harnesses)
        {
            await h.DisposeAsync();
        }

        Console.WriteLine($"{transport}: {rounds} rounds x {calls} calls per configuration, interleaved; {Environment.ProcessorCount} cores; .NET {Environment.Version}");
        Console.WriteLine("| configuration | wall µs/call (median) | vs baseline | CPU µs/call (median) | vs baseline |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        var wall0 = Median(wall[0]);
        var cpu0 = Median(cpu[0]);
        for (var i = 0; i < names.Length; i++)
        {
            var w = Median(wall[i]);
            var c = Median(cpu[i]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {names[i]} | {w:F2} | {(w / wall0 - 1) * 100:+0.0;-0.0} % | {c:F2} | {(c / cpu0 - 1) * 100:+0.0;-0.0} % |"));
        }

        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static ModelContextProtocol.AspNetCore.HttpServerSessionMode HttpMode(string transport) =>
        transport == "http-stateless" ? ModelContextProtocol.AspNetCore.HttpServerSessionMode.Stateless : ModelContextProtocol.AspNetCore.HttpServerSessionMode.Stateful;

    private static string StringOption(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    private static int IntOption(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
