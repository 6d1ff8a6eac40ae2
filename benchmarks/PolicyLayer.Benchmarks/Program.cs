using BenchmarkDotNet.Running;
using PolicyLayer.Benchmarks;

// Plain measurements that are not timings: `-- counter-memory` prints memory per live counter,
// `-- counter-accuracy` how much the in-memory store under-admits against an exact sliding log.
if (args is ["counter-memory", ..])
{
    CounterMemoryMeasurement.Run();
    return 0;
}

if (args is ["policy-load-memory", ..])
{
    PolicyLoadMemory.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
    return 0;
}

// Load time against JsonDocument.Parse in CPU time, which a busy machine disturbs less than wall time: `-- policy-load-cpu [ROUNDS]`.
if (args is ["policy-load-cpu", ..])
{
    PolicyLoadCpu.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
    return 0;
}

// Loads one policy again and again for SECONDS, for a profiler (perf; see docs/benchmarks.md, "Policy load, session 12"): `-- policy-load-loop "prefix 10000" [SECONDS]`.
if (args is ["policy-load-loop", var loopPolicy, ..])
{
    var bytes = PolicyFixtures.ForLoad(loopPolicy);
    var seconds = args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 8;
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var loads = 0;
    while (clock.Elapsed.TotalSeconds < seconds)
    {
        _ = global::PolicyLayer.PolicyDocument.Parse(bytes);
        loads++;
    }

    Console.WriteLine($"{loads} loads of '{loopPolicy}', {clock.Elapsed.TotalMilliseconds * 1000 / loads:F1} µs each (wall clock)");
    return 0;
}

// As policy-load-cpu, for compact policies whose keys are all exact names, all globs with a prefix or a suffix, or a third of each: `-- policy-load-shapes [ROUNDS] [SHAPE...]` (exact, prefix, suffix, ends; all when none is named).
if (args is ["policy-load-shapes", ..])
{
    var shapes = args.Skip(2).ToArray();
    PolicyLoadCpu.Run(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5,
        PolicyFixtures.ShapeCases.Where(name => shapes.Length == 0 || shapes.Any(shape => name.StartsWith(shape + " ", StringComparison.Ordinal))));
    return 0;
}

// Allocation by type while loading one policy (the runtime's sampled allocation ticks): `-- policy-load-profile ["mixed 100000"] [LOADS]`.
if (args is ["policy-load-profile", ..])
{
    PolicyLoadProfile.Run(args.Length > 1 ? args[1] : "large 10000", args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 50);
    return 0;
}

// Each thread's user and system CPU per load, and page faults, at each size (Linux): `-- policy-load-threads [SECONDS]`.
if (args is ["policy-load-threads", ..])
{
    PolicyLoadThreads.Run(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 6);
    return 0;
}

// Collections and large-object bytes per load, with the large objects' types: `-- policy-load-gc [LOADS]`.
if (args is ["policy-load-gc", ..])
{
    PolicyLoadGc.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20);
    return 0;
}

if (args is ["counter-accuracy", ..])
{
    CounterAccuracyMeasurement.Run();
    return 0;
}

// Latency added by `policylayer proxy` (a load program, not BenchmarkDotNet: it needs two processes).
if (args is ["--proxy-latency", ..])
{
    return await ProxyLatency.RunAsync(args[1..]);
}

// Latency and throughput the HTTP gateway adds, and memory per idle session (a load program: client, gateway and upstream in one process).
if (args is ["--http-gateway-latency", ..])
{
    return await HttpGatewayLatency.RunAsync(args[1..]);
}

// The MCP middleware's cost per tools/call, wall and CPU time, interleaved (a load program next to the BenchmarkDotNet rows).
if (args is ["--mcp-overhead", ..])
{
    return await McpOverhead.RunAsync(args[1..]);
}

// What a stateless Streamable HTTP request costs with and without PolicyLayer, counted: bytes, types, heap kept.
if (args is ["--mcp-stateless-probe", ..])
{
    return await McpStatelessProbe.RunAsync(args[1..]);
}

// A minimal byte relay in front of a stdio server (`--byte-relay -- CMD ARGS`): what --proxy-latency --relay-rounds compares the proxy with.
if (args is ["--byte-relay", "--", _, ..])
{
    return ProxyLatency.RunByteRelay(args[2..]);
}

// What the middleware's filters cost per call in CPU time and bytes, without a transport, paired with the baseline.
if (args is ["--mcp-filter-cost", ..])
{
    return await McpFilterCost.RunAsync(args[1..]);
}

// A CPU-bound process for --proxy-latency --busy N: spins on arithmetic until its standard input ends.
if (args is ["--spin"])
{
    return ProxyLatency.RunSpinner();
}

// The trivial stdio MCP server that --proxy-latency calls.
if (args is ["--trivial-mcp-server"])
{
    return ProxyLatency.RunTrivialServer();
}

// A long loop of one evaluator benchmark, to profile with `perf record` (DOTNET_PerfMapEnabled=1):
// `-- profile-evaluate [SECONDS] [unlimited]`.
if (args is ["profile-evaluate", ..])
{
    var unlimited = args is [_, _, "unlimited", ..];
    var bench = new EvaluatorBenchmarks();
    bench.Setup();
    var until = DateTime.UtcNow.AddSeconds(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10);
    long calls = 0;
    while (DateTime.UtcNow < until)
    {
        for (var i = 0; i < 100_000; i++)
        {
            _ = unlimited ? bench.EvaluateUnlimited() : bench.Evaluate();
        }

        calls += 100_000;
    }

    Console.WriteLine($"{calls:N0} calls");
    return 0;
}

// A long loop of one McpFilterBenchmarks row, to profile with `perf record` (DOTNET_PerfMapEnabled=1):
// `-- profile-filters [SECONDS] [ROW]`, ROW one of the benchmark's method names (default Call_PolicyLayer_Allowed).
if (args is ["profile-filters", ..])
{
    return await McpFilterBenchmarks.ProfileAsync(
        args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10,
        args.Length > 2 ? args[2] : nameof(McpFilterBenchmarks.Call_PolicyLayer_Allowed));
}

// Every benchmark class in this assembly; pick with --filter, e.g. --filter '*Evaluate*'.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
