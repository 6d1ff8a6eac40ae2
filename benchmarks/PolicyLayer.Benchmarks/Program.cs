using BenchmarkDotNet.Running;
using PolicyLayer.Benchmarks;

// Plain measurements that are not timings: `-- counter-memory` prints memory per live counter,
// `-- counter-accuracy` how much the in-memory store under-admits against an exact sliding log.
if (args is ["counter-memory", ..])
{
    CounterMemoryMeasurement.Run();
    return;
}

if (args is ["counter-accuracy", ..])
{
    CounterAccuracyMeasurement.Run();
    return;
}

// Every benchmark class in this assembly; pick with --filter, e.g. --filter '*Evaluate*'.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
