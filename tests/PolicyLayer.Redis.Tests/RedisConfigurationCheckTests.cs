using Microsoft.Extensions.Logging;
using PolicyLayer.TestUtils.Redis;
using StackExchange.Redis;

namespace PolicyLayer.Redis.Tests;

/// <summary>At start-up the store reads eviction and persistence settings: it warns, or in strict mode refuses, when counts can be lost.</summary>
[NonParallelizable]
public sealed class RedisConfigurationCheckTests
{
    private static readonly CounterRequest[] Request = [new(new CounterDefinition("calls", 10, TimeSpan.FromMinutes(1), CounterScope.Global), "", 1)];

    [Test]
    public async Task Strict_VolatileEvictionPolicy_RefusesEveryOperationWithTheReason()
    {
        await using var server = await RedisServer.StartForTestAsync("--maxmemory", "100mb", "--maxmemory-policy", "volatile-lru", "--appendonly", "yes");
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(server));
        var store = new RedisCounterStore(connection, new RedisCounterStoreOptions { ConfigurationCheck = RedisConfigurationCheck.Strict });

        var act = async () => await store.TryReserveAsync(Request, new CounterBudget[1]);

        (await act.Should().ThrowAsync<CounterStoreUnavailableException>()).WithMessage("*maxmemory-policy is volatile-lru*noeviction*");
    }

    [Test]
    public async Task Strict_NoEvictionAndAppendOnly_Counts()
    {
        await using var server = await RedisServer.StartForTestAsync("--maxmemory", "100mb", "--maxmemory-policy", "noeviction", "--appendonly", "yes");
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(server));
        var store = new RedisCounterStore(connection, new RedisCounterStoreOptions { ConfigurationCheck = RedisConfigurationCheck.Strict });

        (await store.TryReserveAsync(Request, new CounterBudget[1])).IsAcquired.Should().BeTrue();
    }

    [Test]
    public async Task Strict_NoPersistence_Refuses()
    {
        await using var server = await RedisServer.StartForTestAsync(); // --save "" --appendonly no
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(server));
        var store = new RedisCounterStore(connection, new RedisCounterStoreOptions { ConfigurationCheck = RedisConfigurationCheck.Strict });

        var act = async () => await store.TryReserveAsync(Request, new CounterBudget[1]);

        (await act.Should().ThrowAsync<CounterStoreUnavailableException>()).WithMessage("*restart forgets every count*");
    }

    [Test]
    public async Task Warn_AllKeysEvictionAndNoPersistence_LogsBothRisks_AndCounts()
    {
        await using var server = await RedisServer.StartForTestAsync("--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru");
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(server));
        var logger = new ListLogger();
        var store = new RedisCounterStore(connection, new RedisCounterStoreOptions(), logger);

        (await store.TryReserveAsync(Request, new CounterBudget[1])).IsAcquired.Should().BeTrue();

        await WaitForAsync(() => logger.Count >= 2);
        logger.Messages.Should().Contain(m => m.Contains("maxmemory-policy is allkeys-lru", StringComparison.Ordinal));
        logger.Messages.Should().Contain(m => m.Contains("restart forgets every count", StringComparison.Ordinal));
    }

    [Test]
    public async Task Warn_SnapshotsOnly_WarnsThatARestartLosesRecentCounts()
    {
        await using var server = await RedisServer.StartForTestAsync("--save", "3600 1");
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(server));
        var logger = new ListLogger();
        _ = new RedisCounterStore(connection, new RedisCounterStoreOptions(), logger);

        await WaitForAsync(() => logger.Count >= 1);
        logger.Messages.Should().ContainSingle().Which.Should().Contain("snapshots only");
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }
    }

    private sealed class ListLogger : ILogger<RedisCounterStore>
    {
        private readonly List<string> _messages = [];

        public int Count
        {
            get
            {
                lock (_messages)
                {
                    return _messages.Count;
                }
            }
        }

        public IReadOnlyList<string> Messages
        {
            get
            {
                lock (_messages)
                {
                    return [.. _messages];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_messages)
            {
                _messages.Add(formatter(state, exception));
            }
        }
    }
}
