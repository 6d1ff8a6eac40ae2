using System.Collections.Concurrent;
using System.Diagnostics;
using PolicyLayer.TestUtils.Redis;
using StackExchange.Redis;

namespace PolicyLayer.Redis.Tests;

/// <summary>Redis down or slow: every operation fails with <see cref="CounterStoreUnavailableException"/> within the time-out, and recovers by itself.</summary>
[NonParallelizable]
public sealed class RedisOutageTests
{
    private static readonly CounterDefinition Counter = new("calls", 1000, TimeSpan.FromMinutes(1), CounterScope.Global);
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(300);

    [TestCase(true, TestName = "Reserve_RedisKilledThenRestarted_RefusesWithUnavailableThenRecovers(FailFast)")]
    [TestCase(false, TestName = "Reserve_RedisKilledThenRestarted_RefusesWithUnavailableThenRecovers(Backlog)")]
    public async Task Reserve_RedisKilledThenRestarted_RefusesWithUnavailableThenRecovers(bool failFast)
    {
        await using var server = await RedisServer.StartForTestAsync();
        var options = RedisTestServer.Options(server);
        options.BacklogPolicy = failFast ? BacklogPolicy.FailFast : BacklogPolicy.Default;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
        var store = new RedisCounterStore(connection, new RedisCounterStoreOptions { KeyPrefix = "outage", Timeout = Timeout });
        (await TryReserveAsync(store)).Should().BeNull("Redis is up");

        await server.KillAsync();

        // Many calls at once while Redis is down: each fails with the store's exception, none waits past the time-out.
        var failures = new ConcurrentBag<(Exception? Error, TimeSpan Elapsed)>();
        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
        {
            var watch = Stopwatch.StartNew();
            var error = await TryReserveAsync(store);
            failures.Add((error, watch.Elapsed));
        })));
        failures.Should().OnlyContain(f => f.Error is CounterStoreUnavailableException);
        failures.Should().OnlyContain(f => f.Elapsed < Timeout + TimeSpan.FromMilliseconds(1500));
        failures.Select(f => f.Error!.Message).Should().OnlyContain(m => m.Contains("Redis"));

        await server.StartAsync();

        // The same store, untouched, is allowed again once the connection is back (and the script reloaded).
        var watchRecovery = Stopwatch.StartNew();
        Exception? last = new InvalidOperationException("never tried");
        while (watchRecovery.Elapsed < TimeSpan.FromSeconds(15) && last is not null)
        {
            last = await TryReserveAsync(store);
            last.Should().Match<Exception?>(e => e == null || e is CounterStoreUnavailableException);
            if (last is not null)
            {
                await Task.Delay(50);
            }
        }

        last.Should().BeNull("the store recovers by itself when Redis is back");
    }

    [Test]
    public async Task Reserve_RedisSlowerThanTheTimeout_FailsWithUnavailableWithinTheTimeout()
    {
        await using var server = await RedisServer.StartForTestAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(server));
        var store = new RedisCounterStore(connection, new RedisCounterStoreOptions { KeyPrefix = "slow", Timeout = Timeout });
        (await TryReserveAsync(store)).Should().BeNull();

        // CLIENT PAUSE holds every client's commands on the server, as an overloaded Redis would.
        (await server.SendAsync("CLIENT", "PAUSE", "3000", "ALL")).Should().StartWith("+OK");
        var watch = Stopwatch.StartNew();
        var error = await TryReserveAsync(store);
        watch.Stop();

        error.Should().BeOfType<CounterStoreUnavailableException>().Which.Message.Should().Contain("300 ms");
        watch.Elapsed.Should().BeGreaterThanOrEqualTo(Timeout - TimeSpan.FromMilliseconds(20)).And.BeLessThan(TimeSpan.FromMilliseconds(2500));
        await server.KillAsync(); // rather than wait out the pause to close the connection politely
    }

    [Test]
    public async Task Reserve_CancelledByTheCaller_ThrowsOperationCanceled()
    {
        await using var server = await RedisServer.StartForTestAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Options(server));
        var store = new RedisCounterStore(connection, new RedisCounterStoreOptions { KeyPrefix = "cancel", Timeout = TimeSpan.FromSeconds(5) });
        await server.SendAsync("CLIENT", "PAUSE", "3000", "ALL");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        var act = async () => await store.TryReserveAsync(new[] { new CounterRequest(Counter, "", 1) }, new CounterBudget[1], cancel.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        await server.KillAsync();
    }

    private static async Task<Exception?> TryReserveAsync(CounterStore store)
    {
        try
        {
            var result = await store.TryReserveAsync(new[] { new CounterRequest(Counter, "", 1) }, new CounterBudget[1]);
            result.IsAcquired.Should().BeTrue();
            return null;
        }
        catch (Exception ex) when (ex is not AssertionException)
        {
            return ex;
        }
    }
}
