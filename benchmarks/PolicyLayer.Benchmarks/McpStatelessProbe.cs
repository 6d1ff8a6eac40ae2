using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Server;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// What a stateless Streamable HTTP request costs with and without PolicyLayer, counted rather than timed: bytes the
/// whole process allocates per request, gen-0 collections, the types allocated (the runtime's allocation-tick samples,
/// one per ~100 KB, attributed to the configuration whose block was running), and the heap that remains after many
/// requests (a stateless server must not keep anything per request). Client and servers share the process; the
/// client's part is the same for every configuration, so the differences are the servers'.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/PolicyLayer.Benchmarks -- --mcp-stateless-probe [--rounds N] [--calls N] [--heap-requests N] [--variants] [--in-process]</c>.
/// <c>--variants</c> (for the code before session 4, whose set-ups it recognises) adds two PolicyLayer servers with a
/// part taken out: without its post-configuration of the per-request server options (the tool-list announcer's
/// adoption), and with its services but none of its options set-up (no filters): where a difference comes from; and a
/// twin of the baseline.
/// </remarks>
public static class McpStatelessProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = McpOverhead.IntOption(args, "--rounds", 10);
        var calls = McpOverhead.IntOption(args, "--calls", 2_000);
        var heapRequests = McpOverhead.IntOption(args, "--heap-requests", 20_000);
        var variants = args.Contains("--variants");
        var inProcess = args.Contains("--in-process");
        var mode = HttpServerSessionMode.Stateless;
        var configurations = new List<(string Name, IMcpHarness Harness)>
        {
            ("without PolicyLayer (baseline)", await McpHttpHarness.StartAsync(null, mode, inProcess: inProcess)),
            ("control: pass-through filters", await McpHttpHarness.StartAsync(null, mode, passThroughFilters: true, inProcess: inProcess)),
            ("PolicyLayer, allowed", await McpHttpHarness.StartAsync(McpRoundTripBenchmarks.AllowPolicy, mode, inProcess: inProcess)),
        };
        if (variants)
        {
            configurations.Add(("PolicyLayer, allowed, without its PostConfigure of the server options",
                await McpHttpHarness.StartAsync(McpRoundTripBenchmarks.AllowPolicy, mode, adjust: static s => RemoveServerOptionsSetUp(s, postConfigureOnly: true), inProcess: inProcess)));
            configurations.Add(("PolicyLayer's services only, none of its server options set-up",
                await McpHttpHarness.StartAsync(McpRoundTripBenchmarks.AllowPolicy, mode, adjust: static s => RemoveServerOptionsSetUp(s, postConfigureOnly: false), inProcess: inProcess)));
            configurations.Add(("twin: without PolicyLayer, a server of its own", await McpHttpHarness.StartAsync(null, mode, inProcess: inProcess)));
        }

        var loadBefore = McpOverhead.LoadAverage();
        foreach (var (_, harness) in configurations)
        {
            await RunBlockAsync(harness, 2_000);
        }

        // Bytes, collections, wall and CPU per request, each block paired with a baseline block beside it.
        var n = configurations.Count;
        var bytes = Enumerable.Range(0, n).Select(_ => new List<double>()).ToArray();
        var cpu = Enumerable.Range(0, n).Select(_ => new List<double>()).ToArray();
        var gen0 = Enumerable.Range(0, n).Select(_ => new List<double>()).ToArray();
        var bytesDifference = Enumerable.Range(0, n).Select(_ => new List<double>()).ToArray();
        var cpuDifference = Enumerable.Range(0, n).Select(_ => new List<double>()).ToArray();
        var wallDifference = Enumerable.Range(0, n).Select(_ => new List<double>()).ToArray();
        await PairedBlocks.RunAsync(rounds, n, k => RunBlockAsync(configurations[k].Harness, calls), (k, measured, baseline) =>
        {
            bytes[0].Add(baseline.Bytes);
            cpu[0].Add(baseline.CpuMicroseconds);
            cpu[k].Add(measured.CpuMicroseconds);
            gen0[0].Add(baseline.Gen0PerThousand);
            bytes[k].Add(measured.Bytes);
            gen0[k].Add(measured.Gen0PerThousand);
            bytesDifference[k].Add(measured.Bytes - baseline.Bytes);
            cpuDifference[k].Add(measured.CpuMicroseconds - baseline.CpuMicroseconds);
            wallDifference[k].Add(measured.WallMicroseconds - baseline.WallMicroseconds);
        });

        // The types each configuration allocates, from the runtime's allocation-tick samples.
        var types = new Dictionary<string, double>[n];
        using (var listener = new AllocationListener())
        {
            for (var k = 0; k < n; k++)
            {
                listener.Start();
                await RunBlockAsync(configurations[k].Harness, calls * 20);
                types[k] = listener.Stop(calls * 20);
            }
        }

        // The heap after many requests: what a configuration keeps once its requests are over.
        var heap = new long[n];
        var heapGrowth = new long[n];
        for (var k = 0; k < n; k++)
        {
            var before = SettledHeap();
            await RunBlockAsync(configurations[k].Harness, heapRequests);
            heap[k] = SettledHeap();
            heapGrowth[k] = heap[k] - before;
        }

        foreach (var (_, harness) in configurations)
        {
            await harness.DisposeAsync();
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"http-stateless{(inProcess ? ", in process (no socket)" : "")}: {rounds} rounds of {calls} calls per block, paired with the baseline (A B / B A); {Environment.ProcessorCount} cores; .NET {Environment.Version}"));
        Console.WriteLine($"load average before: {loadBefore}; after: {McpOverhead.LoadAverage()}");
        Console.WriteLine("| configuration | bytes/request (whole process) | vs baseline, median of pairs | gen-0 GCs per 1,000 requests | CPU µs/request | wall µs vs baseline, median [IQR] | CPU µs vs baseline, median [IQR] | heap after GC, after " + heapRequests.ToString("N0", CultureInfo.InvariantCulture) + " more requests (growth) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        for (var k = 0; k < n; k++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {configurations[k].Name} | {McpOverhead.Median(bytes[k]):F0} | {(k == 0 ? "–" : $"{McpOverhead.Median(bytesDifference[k]):+0;-0;0}")} | {McpOverhead.Median(gen0[k]):F2} | {McpOverhead.Median(cpu[k]):F1} | {(k == 0 ? "–" : Spread(wallDifference[k]))} | {(k == 0 ? "–" : Spread(cpuDifference[k]))} | {heap[k]:N0} ({heapGrowth[k]:+#,0;-#,0;0}) |"));
        }

        Console.WriteLine();
        Console.WriteLine("Allocated types, sampled (bytes per request attributed to the type), where a configuration differs from the baseline by 16 B or more:");
        for (var k = 1; k < n; k++)
        {
            Console.WriteLine($"- {configurations[k].Name}:");
            var names = types[k].Keys.Union(types[0].Keys);
            foreach (var (name, difference) in names
                .Select(t => (t, types[k].GetValueOrDefault(t) - types[0].GetValueOrDefault(t)))
                .Where(x => Math.Abs(x.Item2) >= 16)
                .OrderByDescending(x => Math.Abs(x.Item2))
                .Take(25))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {difference,8:+0;-0} B  {name}"));
            }
        }

        return 0;
    }

    // Takes out what WithPolicyLayer adds to McpServerOptions: the set-ups OptionsBuilder.Configure/PostConfigure with a
    // service dependency registers, by factory (the SDK registers its own by type, the control's filters by instance).
    private static void RemoveServerOptionsSetUp(IServiceCollection services, bool postConfigureOnly)
    {
        var removed = 0;
        for (var i = services.Count - 1; i >= 0; i--)
        {
            var d = services[i];
            var setUp = d.ServiceType == typeof(IPostConfigureOptions<McpServerOptions>)
                || (!postConfigureOnly && d.ServiceType == typeof(IConfigureOptions<McpServerOptions>));
            if (setUp && d.ImplementationFactory?.Target?.GetType().FullName?.Contains("OptionsBuilder", StringComparison.Ordinal) == true)
            {
                services.RemoveAt(i);
                removed++;
            }
        }

        if (removed == 0)
        {
            throw new InvalidOperationException("This build of PolicyLayer registers no set-up of McpServerOptions by factory: --variants measures the code before session 4.");
        }
    }

    private static long SettledHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    // McpOverhead's block, with the whole process's allocated bytes and gen-0 collections read around it.
    private static async Task<Block> RunBlockAsync(IMcpHarness harness, int calls)
    {
        var bytesBefore = GC.GetTotalAllocatedBytes(precise: true);
        var gen0Before = GC.CollectionCount(0);
        var block = await McpOverhead.RunBlockAsync(harness, calls);
        var bytes = GC.GetTotalAllocatedBytes(precise: true) - bytesBefore;
        return new Block(block.WallMicroseconds, block.CpuMicroseconds, (double)bytes / calls, (GC.CollectionCount(0) - gen0Before) * 1000.0 / calls);
    }

    private static string Spread(List<double> differences)
    {
        var sorted = differences.Order().ToArray();
        return string.Create(CultureInfo.InvariantCulture,
            $"{McpOverhead.Quantile(sorted, 0.5):+0.0;-0.0} [{McpOverhead.Quantile(sorted, 0.25):+0.0;-0.0}, {McpOverhead.Quantile(sorted, 0.75):+0.0;-0.0}]");
    }

    private readonly record struct Block(double WallMicroseconds, double CpuMicroseconds, double Bytes, double Gen0PerThousand);
}
