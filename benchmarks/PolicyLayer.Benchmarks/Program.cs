using BenchmarkDotNet.Running;
using PolicyLayer.Benchmarks;

// Plain measurements that are not timings: `-- counter-memory` prints memory per live counter,
// `-- counter-accuracy` how much the in-memory store under-admits against an exact sliding log.
if (args is ["counter-memory", ..])
{
    CounterMemoryMeasurement.Run();
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

// The trivial stdio MCP server that --proxy-latency calls.
if (args is ["--trivial-mcp-server"])
{
    return ProxyLatency.RunTrivialServer();
}

// Every benchmark class in this assembly; pick with --filter, e.g. --filter '*Evaluate*'.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
