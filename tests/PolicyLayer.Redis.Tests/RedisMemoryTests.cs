using Microsoft.Extensions.Time.Testing;

namespace PolicyLayer.Redis.Tests;

/// <summary>What a live counter costs Redis (MEMORY USAGE of its one key) when its window is full, and that releases are one-shot.</summary>
public sealed class RedisMemoryTests
{
    [TestCase(30, 60, 1024)]
    [TestCase(1000, 3600, 8192)]
    public async Task FullCounter_TakesAtMost_TheTargetBytes(int max, int windowSeconds, long targetBytes)
    {
        var prefix = RedisTestServer.UniquePrefix();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero));
        var store = RedisCounterStoreTests.CreateStore(time, prefix);
        var counter = new CounterDefinition("calls", max, TimeSpan.FromSeconds(windowSeconds), CounterScope.Session);
        var spacing = TimeSpan.FromSeconds(windowSeconds) / max;
        for (var i = 0; i < max; i++)
        {
            (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "session-1", 1))).Result.IsAcquired.Should().BeTrue();
            time.Advance(spacing * 0.9);
        }

        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "session-1", 1))).Result.IsAcquired.Should().BeFalse("the window is full");
        var bytes = (long)await RedisTestServer.Connection.GetDatabase().ExecuteAsync("MEMORY", "USAGE", RedisCounterKeys.CounterKey(prefix, counter, "session-1"), "SAMPLES", "0");
        TestContext.Out.WriteLine($"{max} per {windowSeconds} s: {bytes} bytes");
        bytes.Should().BeLessThanOrEqualTo(targetBytes);
    }

    [Test]
    public async Task Release_Twice_OfMergedEntries_GivesBackOnlyOnce()
    {
        // A spend cap above 1,024 keeps its times on a grid, so reservations of one instant share an entry.
        var store = RedisCounterStoreTests.CreateStore(new FakeTimeProvider());
        var spend = new CounterDefinition("spend", 5000, TimeSpan.FromDays(1), CounterScope.Grant);
        var (_, first) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(spend, "g", 1000));
        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(spend, "g", 1500));

        await store.ReleaseAsync(first);
        await store.ReleaseAsync(first);

        var (_, budgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(spend, "g", 0));
        budgets[0].Remaining.Should().Be(3500);
    }

    [Test]
    public async Task Release_Twice_AfterTheLogSwitchedToAmounts_GivesBackOnlyOnce()
    {
        var store = RedisCounterStoreTests.CreateStore(new FakeTimeProvider());
        var counter = new CounterDefinition("calls", 10, TimeSpan.FromHours(1), CounterScope.Grant);
        var (_, first) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "g", 1));
        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "g", 1));
        await store.ReleaseAsync(first);
        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "g", 3)); // entries now keep amounts

        await store.ReleaseAsync(first);

        var (_, budgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "g", 0));
        budgets[0].Remaining.Should().Be(6);
    }
}
