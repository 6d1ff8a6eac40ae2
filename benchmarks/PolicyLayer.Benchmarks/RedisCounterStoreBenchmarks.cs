using BenchmarkDotNet.Attributes;
using PolicyLayer;
using PolicyLayer.TestUtils.Redis;
using StackExchange.Redis;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// Decisions per second against a local redis-server (started here) with <see cref="Concurrency"/> callers at once,
/// next to the raw rate of EVALSHA of an empty script through the same client at the same concurrency (the baseline).
/// Each operation is one call; divide 1 s by the mean to get calls per second.
/// </summary>
[MemoryDiagnoser]
public class RedisCounterStoreBenchmarks
{
    /// <summary>Callers at once, as <c>redis-benchmark -c 50</c>.</summary>
    private const int Concurrency = 50;
    private const int CallsPerCaller = 200;
    private const int Operations = Concurrency * CallsPerCaller;

    private static readonly CounterDefinition PerSession = new("all_calls", 1_000_000_000, TimeSpan.FromSeconds(1), CounterScope.Session);
    private static readonly CounterDefinition Global = new("labels", 1_000_000_000, TimeSpan.FromSeconds(1), CounterScope.Global);

    private RedisServer _server = null!;
    private ConnectionMultiplexer _connection = null!;
    private RedisCounterStore _store = null!;
    private byte[] _emptyScript = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _server = await RedisServer.StartNewAsync();
        _connection = await ConnectionMultiplexer.ConnectAsync(_server.Configuration);
        _store = new RedisCounterStore(_connection, new RedisCounterStoreOptions { KeyPrefix = "bench" });
        _emptyScript = (byte[])(await _connection.GetServer(_server.Configuration).ScriptLoadAsync("return 1"))!;
        await _store.TryReserveAsync(new[] { new CounterRequest(Global, "", 1) }, new CounterBudget[1]);
        Console.WriteLine($"// redis-server on port {_server.Port}; counter script SHA {RedisCounterScript.Sha1Hex}");
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _connection.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    public Task RawEvalshaEmptyScript() => RunAsync(async caller =>
    {
        var database = _connection.GetDatabase();
        for (var i = 0; i < CallsPerCaller; i++)
        {
            await database.ScriptEvaluateAsync(_emptyScript);
        }
    });

    [Benchmark(OperationsPerInvoke = Operations)]
    public Task TryReserveTwoCounters() => RunAsync(async caller =>
    {
        var requests = new[] { new CounterRequest(PerSession, "session-" + caller, 1), new CounterRequest(Global, "", 1) };
        var budgets = new CounterBudget[2];
        for (var i = 0; i < CallsPerCaller; i++)
        {
            await _store.TryReserveAsync(requests, budgets);
        }
    });

    [Benchmark(OperationsPerInvoke = Operations)]
    public Task TryReserveThenReleaseOneCounter() => RunAsync(async caller =>
    {
        var requests = new[] { new CounterRequest(PerSession, "session-" + caller, 1) };
        var budgets = new CounterBudget[1];
        for (var i = 0; i < CallsPerCaller / 2; i++)
        {
            await _store.TryReserveAsync(requests, budgets);
            await _store.ReleaseAsync(budgets);
        }
    });

    private Task RunAsync(Func<int, Task> caller)
    {
        var callers = new Task[Concurrency];
        for (var i = 0; i < callers.Length; i++)
        {
            var id = i;
            callers[i] = Task.Run(() => caller(id));
        }

        return Task.WhenAll(callers);
    }
}
