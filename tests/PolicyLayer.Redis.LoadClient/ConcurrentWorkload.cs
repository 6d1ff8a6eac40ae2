using StackExchange.Redis;

namespace PolicyLayer.Redis.LoadClient;

/// <summary>
/// Calls of three counters that land in three hash slots (per grant, per session, one global), from several workers at
/// once: the load under which the cluster store must never over-admit and must keep each call all or none.
/// </summary>
public static class ConcurrentWorkload
{
    /// <summary>40 calls per grant (3 grants).</summary>
    public static CounterDefinition PerGrant { get; } = new("per_grant", 40, TimeSpan.FromMinutes(10), CounterScope.Grant);

    /// <summary>25 calls per session (4 sessions).</summary>
    public static CounterDefinition PerSession { get; } = new("per_session", 25, TimeSpan.FromMinutes(10), CounterScope.Session);

    /// <summary>70 calls in all: the limit that every run fills.</summary>
    public static CounterDefinition Global { get; } = new("all", 70, TimeSpan.FromMinutes(10), CounterScope.Global);

    /// <summary>A store on <paramref name="connection"/> under <paramref name="prefix"/>, as the tests configure it.</summary>
    public static RedisCounterStore Store(IConnectionMultiplexer connection, string prefix) =>
        new(connection, new RedisCounterStoreOptions
        {
            KeyPrefix = prefix,
            Timeout = TimeSpan.FromSeconds(5),
            ConfigurationCheck = RedisConfigurationCheck.Off,
        });

    /// <summary>
    /// Runs <paramref name="workers"/> workers of <paramref name="callsPerWorker"/> calls each on <paramref name="store"/>,
    /// worker i drawing its grants and sessions from a random sequence seeded <paramref name="seed"/> + i; returns each
    /// admitted call's counters as (kind, scope value) pairs: ("grant", g), ("session", s), ("global", "").
    /// </summary>
    public static async Task<List<(string Kind, string Value)>> RunAsync(RedisCounterStore store, int workers, int callsPerWorker, int seed)
    {
        var admitted = new List<(string, string)>();
        var tasks = Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            var random = new Random(seed + worker);
            var budgets = new CounterBudget[3];
            for (var i = 0; i < callsPerWorker; i++)
            {
                var grant = "g" + random.Next(3);
                var session = "s" + random.Next(4);
                CounterRequest[] requests = [new(PerGrant, grant, 1), new(PerSession, session, 1), new(Global, "", 1)];
                if ((await store.TryReserveAsync(requests, budgets)).IsAcquired)
                {
                    lock (admitted)
                    {
                        admitted.AddRange([("grant", grant), ("session", session), ("global", "")]);
                    }
                }
            }
        }));
        await Task.WhenAll(tasks);
        return admitted;
    }

    /// <summary>The counter of an admitted pair's kind.</summary>
    public static CounterDefinition CounterOf(string kind) => kind switch
    {
        "grant" => PerGrant,
        "session" => PerSession,
        _ => Global,
    };
}
