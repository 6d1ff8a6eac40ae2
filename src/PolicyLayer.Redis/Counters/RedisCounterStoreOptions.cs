namespace PolicyLayer;

/// <summary>Whose clock decides which reservations are still inside a window.</summary>
public enum RedisClock
{
    /// <summary>
    /// The Redis server's <c>TIME</c>, read inside the script that decides. Every instance of a server agrees,
    /// however skewed their own clocks are. The recommended setting.
    /// </summary>
    Server = 0,

    /// <summary>
    /// The store's <see cref="RedisCounterStoreOptions.TimeProvider"/>. Instances then agree only as well as their
    /// clocks do; meant for tests that move time with a fake clock.
    /// </summary>
    TimeProvider = 1,
}

/// <summary>Options of a <see cref="RedisCounterStore"/>.</summary>
public sealed class RedisCounterStoreOptions
{
    /// <summary>
    /// The start of every key the store writes (<c>policylayer:{…}</c>). Each counter and scope value then has a hash
    /// tag of its own, so that a Redis Cluster spreads them over its slots. Stores that must not share counters
    /// (separate tenants) use separate prefixes. Must not contain <c>{</c> or <c>}</c>.
    /// </summary>
    /// <value>The default value is <c>"policylayer"</c>.</value>
    public string KeyPrefix { get; set; } = "policylayer";

    /// <summary>Whose clock decides which reservations are inside a window.</summary>
    /// <value>The default value is <see cref="RedisClock.Server"/>.</value>
    public RedisClock Clock { get; set; } = RedisClock.Server;

    /// <summary>The clock used when <see cref="Clock"/> is <see cref="RedisClock.TimeProvider"/>.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// How long one operation may take before the store gives up and throws <see cref="CounterStoreUnavailableException"/>,
    /// so that a slow or unreachable Redis refuses calls promptly instead of holding them.
    /// </summary>
    /// <value>The default value is one second.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The Redis database the keys live in; -1 is the connection's default.</summary>
    /// <value>The default value is -1.</value>
    public int Database { get; set; } = -1;

    /// <summary>How long a counter's keys outlive its last reservation's window, so that a quiet scope's keys vanish by themselves.</summary>
    /// <value>The default value is one second.</value>
    public TimeSpan ExpirySlack { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// What the store does, at start-up, about server settings that let counts be evicted (a <c>maxmemory-policy</c>
    /// other than <c>noeviction</c>) or lost (no persistence).
    /// </summary>
    /// <value>The default value is <see cref="RedisConfigurationCheck.Warn"/>.</value>
    public RedisConfigurationCheck ConfigurationCheck { get; set; } = RedisConfigurationCheck.Warn;
}
