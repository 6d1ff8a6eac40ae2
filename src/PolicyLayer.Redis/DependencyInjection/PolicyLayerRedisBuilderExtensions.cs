using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PolicyLayer;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Puts PolicyLayer's counters in Redis, so that every instance of a server shares them.</summary>
public static class PolicyLayerRedisBuilderExtensions
{
    /// <summary>
    /// Replaces the counter store with a <see cref="RedisCounterStore"/> on the <see cref="IConnectionMultiplexer"/>
    /// the host registered in the service collection.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddPolicyLayer</c>.</param>
    /// <param name="configure">Sets the store's options, such as the key prefix and the time-out.</param>
    /// <returns>The builder.</returns>
    public static IPolicyLayerBuilder UseRedis(this IPolicyLayerBuilder builder, Action<RedisCounterStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseRedis(static sp => sp.GetRequiredService<IConnectionMultiplexer>(), configure);
    }

    /// <summary>
    /// Replaces the counter store with a <see cref="RedisCounterStore"/> on a connection of its own, opened from a
    /// StackExchange.Redis configuration string (such as <c>"redis-1:6379,redis-2:6379"</c>) when the store is first
    /// needed, and closed with the service provider. The connection does not give up when Redis is down at start
    /// (<c>abortConnect=false</c>) and fails operations at once while disconnected instead of queueing them, so that
    /// calls are refused promptly during an outage.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddPolicyLayer</c>.</param>
    /// <param name="configuration">The StackExchange.Redis configuration string.</param>
    /// <param name="configure">Sets the store's options, such as the key prefix and the time-out.</param>
    /// <returns>The builder.</returns>
    public static IPolicyLayerBuilder UseRedis(this IPolicyLayerBuilder builder, string configuration, Action<RedisCounterStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);

        // Parsed now, so that a malformed string fails at registration rather than on the first call.
        var parsed = ConfigurationOptions.Parse(configuration);
        parsed.AbortOnConnectFail = false;
        parsed.BacklogPolicy = BacklogPolicy.FailFast;
        builder.Services.TryAddSingleton(_ => new RedisCounterStoreConnection(parsed));
        return builder.UseRedis(static sp => sp.GetRequiredService<RedisCounterStoreConnection>().Multiplexer, configure);
    }

    /// <summary>
    /// Replaces the counter store with a <see cref="RedisCounterStore"/> on the connection <paramref name="connectionFactory"/>
    /// returns, and the approval store (of <c>AddPolicyLayerApprovals</c>) with a <see cref="RedisApprovalStore"/> on it.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddPolicyLayer</c>.</param>
    /// <param name="connectionFactory">Returns the connection; called once by each store (counters, approvals). The stores do not dispose it.</param>
    /// <param name="configure">Sets the store's options, such as the key prefix and the time-out.</param>
    /// <returns>The builder.</returns>
    public static IPolicyLayerBuilder UseRedis(
        this IPolicyLayerBuilder builder,
        Func<IServiceProvider, IConnectionMultiplexer> connectionFactory,
        Action<RedisCounterStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(connectionFactory);
        var optionsBuilder = builder.Services.AddOptions<RedisCounterStoreOptions>();
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        builder.Services.RemoveAll<CounterStore>();
        builder.Services.AddSingleton<CounterStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisCounterStoreOptions>>().Value;

            // A clock the host registered (a fake one in tests) serves RedisClock.TimeProvider unless the options name one.
            var time = ReferenceEquals(options.TimeProvider, TimeProvider.System)
                ? sp.GetService<TimeProvider>() ?? TimeProvider.System
                : options.TimeProvider;
            return new RedisCounterStore(connectionFactory(sp), new RedisCounterStoreOptions
            {
                KeyPrefix = options.KeyPrefix,
                Clock = options.Clock,
                TimeProvider = time,
                Timeout = options.Timeout,
                Database = options.Database,
                ExpirySlack = options.ExpirySlack,
                ConfigurationCheck = options.ConfigurationCheck,
            }, sp.GetService<ILogger<RedisCounterStore>>());
        });

        // Out-of-band approvals (AddPolicyLayerApprovals) live beside the counters: they survive a restart and every
        // instance sees them, and an approval is used once on any of them.
        builder.Services.RemoveAll<ApprovalStore>();
        builder.Services.AddSingleton<ApprovalStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisCounterStoreOptions>>().Value;
            return new RedisApprovalStore(connectionFactory(sp), new RedisApprovalStoreOptions
            {
                KeyPrefix = options.KeyPrefix,
                Database = options.Database,
                TimeProvider = ReferenceEquals(options.TimeProvider, TimeProvider.System) ? sp.GetService<TimeProvider>() ?? TimeProvider.System : options.TimeProvider,
            });
        });
        return builder;
    }

    /// <summary>A connection opened from a configuration string by <c>UseRedis</c>, owned and disposed by the service provider.</summary>
    private sealed class RedisCounterStoreConnection(ConfigurationOptions configuration) : IDisposable
    {
        public ConnectionMultiplexer Multiplexer { get; } = ConnectionMultiplexer.Connect(configuration);

        public void Dispose() => Multiplexer.Dispose();
    }
}
