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

    [Test]
    public async Task Reserve_LogBusyLongerThanItsOffsetsSpan_RebasesAndStaysExact()
    {
        // A 10 s window has a 4 us quantum: 3-byte offsets span 67 s, so a log never empty for 100 s must rebase.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero));
        var prefix = RedisTestServer.UniquePrefix();
        var store = RedisCounterStoreTests.CreateStore(time, prefix);
        var counter = new CounterDefinition("busy", 3, TimeSpan.FromSeconds(10), CounterScope.Global);
        RedisCounterScript.Quantum(counter).Should().Be(4);
        CounterBudget[] last = [];
        for (var i = 0; i < 25; i++)
        {
            (var result, last) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "", 1));
            result.IsAcquired.Should().BeTrue("call {0}, 4 s after the one before", i);
            time.Advance(TimeSpan.FromSeconds(4));
        }

        // Now 100 s on: the units of 92 s and 96 s are live; the one of 96 s is the last reservation.
        var log = await RedisCounterLog.ReadAsync(RedisTestServer.Connection.GetDatabase(), prefix, counter, "");
        log!.Entries.Should().HaveCount(3, "the entries of 88 s, 92 s and 96 s; the one of 88 s is pruned on the next call");
        var (full, budgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "", 2));
        full.IsAcquired.Should().BeFalse();
        full.RetryAfter.Should().Be(TimeSpan.FromSeconds(2), "two units fit once the unit of 92 s leaves, at 102 s");
        budgets[0].Remaining.Should().Be(1);

        await store.ReleaseAsync(last);
        (await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(counter, "", 2))).Result.IsAcquired.Should().BeTrue();
    }
}
