using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace PolicyLayer.Redis.Tests;

/// <summary>Registration through <c>services.AddPolicyLayer().UseRedis(...)</c>.</summary>
public sealed class UseRedisTests
{
    private static readonly CounterDefinition Counter = new("calls", 1, TimeSpan.FromSeconds(10), CounterScope.Global);

    [Test]
    public async Task UseRedis_ConfigurationString_ReplacesTheInMemoryStoreWithOneOnItsOwnConnection()
    {
        var services = new ServiceCollection();
        var prefix = RedisTestServer.UniquePrefix();
        services.AddPolicyLayer().UseRedis(RedisTestServer.Server.Configuration, o => o.KeyPrefix = prefix);

        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<CounterStore>();
            store.Should().BeOfType<RedisCounterStore>();
            services.Count(d => d.ServiceType == typeof(CounterStore)).Should().Be(1);
            (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Counter, "", 1))).Result.IsAcquired.Should().BeTrue();
        }

        // The counter really is in Redis, under the prefix, and another store on another connection sees it.
        var other = new RedisCounterStore(RedisTestServer.Connection, new RedisCounterStoreOptions { KeyPrefix = prefix });
        (await RedisCounterStoreTests.ReserveOnAsync(other, new CounterRequest(Counter, "", 1))).Result.IsAcquired.Should().BeFalse();
    }

    [Test]
    public async Task UseRedis_WithoutConfiguration_UsesTheConnectionMultiplexerFromTheContainer()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConnectionMultiplexer>(RedisTestServer.Connection);
        var prefix = RedisTestServer.UniquePrefix();
        services.AddPolicyLayer().UseRedis(o => o.KeyPrefix = prefix);
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<CounterStore>();
        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Counter, "", 1));

        (await RedisTestServer.Connection.GetDatabase().KeyExistsAsync(RedisCounterKeys.CounterKey(prefix, Counter, ""))).Should().BeTrue();
    }

    [Test]
    public async Task UseRedis_TimeProviderClock_TakesTheContainersTimeProvider()
    {
        var time = new FakeTimeProvider();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddSingleton<IConnectionMultiplexer>(RedisTestServer.Connection);
        var prefix = RedisTestServer.UniquePrefix();
        services.AddPolicyLayer().UseRedis(o =>
        {
            o.KeyPrefix = prefix;
            o.Clock = RedisClock.TimeProvider;
            o.ExpirySlack = TimeSpan.FromMinutes(1);
        });
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<CounterStore>();
        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Counter, "", 1));
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Counter, "", 1))).Result.IsAcquired.Should().BeFalse();

        time.Advance(TimeSpan.FromSeconds(10));

        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Counter, "", 1))).Result.IsAcquired.Should().BeTrue();
    }

    [Test]
    public void UseRedis_MalformedConfiguration_FailsAtRegistration()
    {
        var act = () => new ServiceCollection().AddPolicyLayer().UseRedis("localhost,connectTimeout=soon");

        act.Should().Throw<ArgumentException>();
    }
}
