using BenchmarkDotNet.Running;
using PolicyLayer.Benchmarks;

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
