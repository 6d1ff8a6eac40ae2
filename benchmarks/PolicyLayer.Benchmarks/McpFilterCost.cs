using System.Globalization;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// The rows of <see cref="McpFilterBenchmarks"/> measured in CPU time rather than wall time, so that a loaded machine's
/// preemptions do not count: one thread calls the filters in blocks, each row's block paired with a baseline block
/// beside it (A B, then B A), and the process's CPU time and the thread's allocations are read around each block. It
/// reports, per row, the median CPU time per call and the median over pairs of the difference to the baseline.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/PolicyLayer.Benchmarks -- --mcp-filter-cost [--rounds N] [--calls N]</c>.
/// No transport runs while it measures, so the process's CPU time is the calling thread's plus the runtime's (the GC).
/// </remarks>
public static class McpFilterCost
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = McpOverhead.IntOption(args, "--rounds", 30);
        var calls = McpOverhead.IntOption(args, "--calls", 20_000);
        var bench = new McpFilterBenchmarks();
        await bench.SetupAsync();
        (string Name, Func<ValueTask> Call)[] callRows =
        [
            ("tools/call, no filters (baseline)", async () => await bench.Call_NoFilters()),
            ("tools/call, pass-through filters (control)", async () => await bench.Call_PassThroughFilters()),
            ("tools/call, PolicyLayer allowed", async () => await bench.Call_PolicyLayer_Allowed()),
            ("tools/call, PolicyLayer counted limit", async () => await bench.Call_PolicyLayer_CountedLimit()),
            ("tools/call, PolicyLayer allowed, bearer principal", async () => await bench.Call_PolicyLayer_Allowed_Authenticated()),
        ];
        (string Name, Func<ValueTask> Call)[] listRows =
        [
            ("tools/list of 20, no filters (baseline)", async () => await bench.List20_NoFilters()),
            ("tools/list of 20, pass-through filters (control)", async () => await bench.List20_PassThroughFilters()),
            ("tools/list of 20, PolicyLayer", async () => await bench.List20_PolicyLayer()),
        ];

        (string Name, Func<ValueTask> Call)[] optionsRows =
        [
            ("server options per stateless request, no filters (baseline)", () => { bench.StatelessOptions_NoFilters(); return ValueTask.CompletedTask; }),
            ("server options per stateless request, pass-through filters (control)", () => { bench.StatelessOptions_PassThroughFilters(); return ValueTask.CompletedTask; }),
            ("server options per stateless request, PolicyLayer", () => { bench.StatelessOptions_PolicyLayer(); return ValueTask.CompletedTask; }),
        ];

        var loadBefore = McpOverhead.LoadAverage();
        var results = new List<string>();
        foreach (var rows in new[] { callRows, listRows, optionsRows })
        {
            foreach (var (_, call) in rows)
            {
                await RunBlockAsync(call, calls);
            }

            var cpu = rows.Select(_ => new List<double>()).ToArray();
            var difference = rows.Select(_ => new List<double>()).ToArray();
            var bytes = new double[rows.Length];
            for (var round = 0; round < rounds; round++)
            {
                for (var k = 1; k < rows.Length; k++)
                {
                    Block baseline, measured;
                    if (round % 2 == 0)
                    {
                        baseline = await RunBlockAsync(rows[0].Call, calls);
                        measured = await RunBlockAsync(rows[k].Call, calls);
                    }
                    else
                    {
                        measured = await RunBlockAsync(rows[k].Call, calls);
                        baseline = await RunBlockAsync(rows[0].Call, calls);
                    }

                    cpu[0].Add(baseline.CpuNanoseconds);
                    cpu[k].Add(measured.CpuNanoseconds);
                    difference[k].Add(measured.CpuNanoseconds - baseline.CpuNanoseconds);
                    bytes[0] = baseline.Bytes;
                    bytes[k] = measured.Bytes;
                }
            }

            for (var k = 0; k < rows.Length; k++)
            {
                results.Add(string.Create(CultureInfo.InvariantCulture,
                    $"| {rows[k].Name} | {McpOverhead.Median(cpu[k]):F0} | {(k == 0 ? "–" : Difference(difference[k]))} | {bytes[k]:F0} | {(k == 0 ? "–" : $"{bytes[k] - bytes[0]:+0;-0;0}")} |"));
            }
        }

        await bench.CleanupAsync();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{rounds} rounds, each row's block of {calls} calls paired with a baseline block beside it (A B / B A); {Environment.ProcessorCount} cores; .NET {Environment.Version}"));
        Console.WriteLine($"load average before: {loadBefore}; after: {McpOverhead.LoadAverage()}");
        Console.WriteLine("| row | CPU ns/call (median) | vs baseline, median of pair differences [IQR] | bytes/call | vs baseline |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        results.ForEach(Console.WriteLine);
        return 0;
    }

    private static async ValueTask<Block> RunBlockAsync(Func<ValueTask> call, int calls)
    {
        var bytesBefore = GC.GetAllocatedBytesForCurrentThread();
        var cpuBefore = Environment.CpuUsage.TotalTime;
        for (var i = 0; i < calls; i++)
        {
            await call();
        }

        var cpu = Environment.CpuUsage.TotalTime - cpuBefore;
        var bytes = GC.GetAllocatedBytesForCurrentThread() - bytesBefore;
        return new Block(cpu.TotalNanoseconds / calls, (double)bytes / calls);
    }

    private static string Difference(List<double> differences)
    {
        var sorted = differences.Order().ToArray();
        return string.Create(CultureInfo.InvariantCulture,
            $"{McpOverhead.Quantile(sorted, 0.5):+0;-0} ns [{McpOverhead.Quantile(sorted, 0.25):+0;-0}, {McpOverhead.Quantile(sorted, 0.75):+0;-0}]");
    }

    private readonly record struct Block(double CpuNanoseconds, double Bytes);
}
