using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace PolicyLayer.Redis.Tests;

/// <summary>With <see cref="RedisClock.Server"/>, the Redis server's clock decides, and separate instances share one budget.</summary>
public sealed class RedisServerClockTests
{
    [Test]
    public async Task Reserve_InstancesWithSkewedClocks_AgreeBecauseTheServerClockDecides()
    {
        var counter = new CounterDefinition("calls", 2, TimeSpan.FromMinutes(10), CounterScope.Global);
        var prefix = RedisTestServer.UniquePrefix();
        var past = new FakeTimeProvider(new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var future = new FakeTimeProvider(new DateTimeOffset(2090, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var early = ServerClockStore(RedisTestServer.Connection, prefix, past);
        var late = ServerClockStore(RedisTestServer.Connection, prefix, future);

        (await RedisCounterStoreTests.ReserveOnAsync(early, new CounterRequest(counter, "", 1))).Result.IsAcquired.Should().BeTrue();
        (await RedisCounterStoreTests.ReserveOnAsync(late, new CounterRequest(counter, "", 1))).Result.IsAcquired.Should().BeTrue();

        // Were either instance's clock used, the other's reservation would be 89 years out of its window.
        var (fromEarly, _) = await RedisCounterStoreTests.ReserveOnAsync(early, new CounterRequest(counter, "", 1));
        var (fromLate, _) = await RedisCounterStoreTests.ReserveOnAsync(late, new CounterRequest(counter, "", 1));
        fromEarly.IsAcquired.Should().BeFalse();
        fromLate.IsAcquired.Should().BeFalse();
        fromEarly.RetryAfter.Should().BeCloseTo(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(5));
        fromLate.RetryAfter.Should().BeCloseTo(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(5));
    }

    [Test]
    public async Task Reserve_TimeStampsComeFromTheServerClock()
    {
        var counter = new CounterDefinition("calls", 5, TimeSpan.FromMinutes(1), CounterScope.Global);
        var prefix = RedisTestServer.UniquePrefix();
        var store = ServerClockStore(RedisTestServer.Connection, prefix, new FakeTimeProvider(new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero)));

        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "", 1));

        var server = RedisTestServer.Connection.GetServer(RedisTestServer.Server.Configuration);
        var serverNow = await server.TimeAsync();
        var log = await RedisCounterLog.ReadAsync(RedisTestServer.Connection.GetDatabase(), prefix, counter, "");
        log!.Entries.Should().ContainSingle();
        var stamped = DateTimeOffset.UnixEpoch.AddTicks(log.Entries[0].StampMicroseconds * TimeSpan.TicksPerMicrosecond);
        stamped.Should().BeCloseTo(new DateTimeOffset(serverNow, TimeSpan.Zero), TimeSpan.FromSeconds(5));
    }

    [Test]
    public async Task Reserve_TwoInstancesOnSeparateConnections_ManyThreads_NeverAdmitMoreThanMax()
    {
        var perCall = new CounterDefinition("per_grant", 100, TimeSpan.FromMinutes(5), CounterScope.Grant);
        var global = new CounterDefinition("all_calls", 150, TimeSpan.FromMinutes(5), CounterScope.Global);
        var prefix = RedisTestServer.UniquePrefix();
        await using var first = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(RedisTestServer.Server));
        await using var second = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(RedisTestServer.Server));
        var stores = new[] { ServerClockStore(first, prefix, TimeProvider.System), ServerClockStore(second, prefix, TimeProvider.System) };
        var admittedPerGrant = new int[2];
        var admittedTotal = 0;

        var workers = Enumerable.Range(0, 16).Select(worker => Task.Run(async () =>
        {
            var store = stores[worker % 2];
            var budgets = new CounterBudget[2];
            for (var i = 0; i < 40; i++)
            {
                var grant = i % 2;
                var result = await store.TryReserveAsync(
                    new[] { new CounterRequest(perCall, "grant-" + grant, 1), new CounterRequest(global, "", 1) }, budgets);
                if (result.IsAcquired)
                {
                    Interlocked.Increment(ref admittedPerGrant[grant]);
                    Interlocked.Increment(ref admittedTotal);
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);

        // 640 attempts, 320 per grant: the global max (150) binds first and must be reached exactly.
        admittedTotal.Should().Be(150);
        admittedPerGrant.Should().OnlyContain(n => n <= 100);
        var budgetsAfter = new CounterBudget[1];
        await stores[0].GetBudgetsAsync(new[] { new CounterRequest(global, "", 1) }, budgetsAfter);
        budgetsAfter[0].Remaining.Should().Be(0);
    }

    [Test]
    public async Task Reserve_ShortWindowUnderConcurrentLoad_NoWindowEverHoldsMoreThanMax()
    {
        var counter = new CounterDefinition("burst", 10, TimeSpan.FromMilliseconds(200), CounterScope.Global);
        var prefix = RedisTestServer.UniquePrefix();
        await using var first = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(RedisTestServer.Server));
        await using var second = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(RedisTestServer.Server));
        var stores = new[]
        {
            ServerClockStore(first, prefix, TimeProvider.System, expirySlack: TimeSpan.FromMinutes(1)),
            ServerClockStore(second, prefix, TimeProvider.System, expirySlack: TimeSpan.FromMinutes(1)),
        };
        var admitted = 0;
        var seen = new Dictionary<long, long>();
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(800));

        // An entry stays in the log for its whole window (200 ms), so sampling every few milliseconds sees
        // every admitted unit with the server time it was stamped with.
        var sampler = Task.Run(async () =>
        {
            var database = RedisTestServer.Connection.GetDatabase();
            while (!stop.IsCancellationRequested)
            {
                Sample(await RedisCounterLog.ReadAsync(database, prefix, counter, ""), seen);
                await Task.Delay(10);
            }

            Sample(await RedisCounterLog.ReadAsync(database, prefix, counter, ""), seen);
        });
        var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            var budgets = new CounterBudget[1];
            while (!stop.IsCancellationRequested)
            {
                if ((await stores[worker % 2].TryReserveAsync(new[] { new CounterRequest(counter, "", 1) }, budgets)).IsAcquired)
                {
                    Interlocked.Increment(ref admitted);
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        await sampler;

        admitted.Should().BeGreaterThan(20, "the run spans several windows");
        seen.Should().HaveCount(admitted, "the sampler saw every admitted unit");
        MaxInAnyWindow(seen.Values.Order().ToArray(), 200_000).Should().Be(10, "windows fill up but never hold more than max");
    }

    private static void Sample(RedisCounterLog? log, Dictionary<long, long> seen)
    {
        foreach (var entry in log?.Entries ?? [])
        {
            seen[entry.Id] = entry.StampMicroseconds;
        }
    }

    internal static long MaxInAnyWindow(long[] sortedMicroseconds, long windowMicroseconds)
    {
        long best = 0;
        var start = 0;
        for (var end = 0; end < sortedMicroseconds.Length; end++)
        {
            while (sortedMicroseconds[end] - sortedMicroseconds[start] >= windowMicroseconds)
            {
                start++;
            }

            best = Math.Max(best, end - start + 1);
        }

        return best;
    }

    private static RedisCounterStore ServerClockStore(IConnectionMultiplexer connection, string prefix, TimeProvider time, TimeSpan? expirySlack = null) =>
        new(connection, new RedisCounterStoreOptions
        {
            KeyPrefix = prefix,
            Clock = RedisClock.Server,
            TimeProvider = time,
            ExpirySlack = expirySlack ?? TimeSpan.FromSeconds(1),
        });
}
