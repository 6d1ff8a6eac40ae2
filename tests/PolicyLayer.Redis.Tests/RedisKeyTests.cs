using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace PolicyLayer.Redis.Tests;

/// <summary>Key layout: prefix, one hash slot per store, expiry of quiet scopes.</summary>
public sealed class RedisKeyTests
{
    private static readonly CounterDefinition Session = new("all_calls", 5, TimeSpan.FromSeconds(30), CounterScope.Session);
    private static readonly CounterDefinition Grant = new("labels", 5, TimeSpan.FromMinutes(2), CounterScope.Grant);

    [Test]
    public async Task Reserve_KeysOfCountersOfDifferentScopes_ShareOneHashSlotAndThePrefix()
    {
        var prefix = RedisTestServer.UniquePrefix();
        var store = RedisCounterStoreTests.CreateStore(new FakeTimeProvider(), prefix);

        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Session, "session-1", 1), new CounterRequest(Grant, "grant-9", 1));

        var keys = await KeysAsync(prefix);
        keys.Should().HaveCount(5, "an entries key and a total key per counter, and the store's state");
        keys.Should().OnlyContain(k => k.StartsWith("{" + prefix + "}:", StringComparison.Ordinal));
        keys.Select(k => RedisTestServer.Connection.HashSlot(k)).Distinct().Should().ContainSingle();
    }

    [Test]
    public void CounterKey_NamesThatContainSeparators_NeverCollide()
    {
        var a = new CounterDefinition("a:1:b", 1, TimeSpan.FromSeconds(1), CounterScope.Grant);
        var b = new CounterDefinition("a", 1, TimeSpan.FromSeconds(1), CounterScope.Grant);

        var first = RedisCounterScript.CounterKey("p", 'z', a, "c");
        var second = RedisCounterScript.CounterKey("p", 'z', b, "b:1:c");

        first.Should().NotBe(second);
    }

    [Test]
    public async Task Reserve_SetsExpiryToTheWindowPlusSlack_SoQuietScopesVanish()
    {
        var prefix = RedisTestServer.UniquePrefix();
        var store = RedisCounterStoreTests.CreateStore(new FakeTimeProvider(), prefix);

        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Session, "session-1", 1), new CounterRequest(Grant, "grant-9", 1));

        var database = RedisTestServer.Connection.GetDatabase();
        foreach (var kind in new[] { 'z', 'n' })
        {
            var sessionTtl = await database.KeyTimeToLiveAsync(RedisCounterScript.CounterKey(prefix, kind, Session, "session-1"));
            var grantTtl = await database.KeyTimeToLiveAsync(RedisCounterScript.CounterKey(prefix, kind, Grant, "grant-9"));
            sessionTtl.Should().BeCloseTo(TimeSpan.FromSeconds(31), TimeSpan.FromSeconds(1));
            grantTtl.Should().BeCloseTo(TimeSpan.FromSeconds(121), TimeSpan.FromSeconds(1));
        }
    }

    [Test]
    public async Task Reserve_AfterTheScopeWentQuiet_KeysAreGone()
    {
        var prefix = RedisTestServer.UniquePrefix();
        var shortWindow = new CounterDefinition("tiny", 1, TimeSpan.FromMilliseconds(20), CounterScope.Session);
        var store = new RedisCounterStore(RedisTestServer.Connection, new RedisCounterStoreOptions { KeyPrefix = prefix, ExpirySlack = TimeSpan.Zero });

        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(shortWindow, "s", 1));
        (await KeysAsync(prefix)).Should().HaveCount(3);

        // Redis's own clock expires the keys; nothing to fake here, so wait out the 20 ms once.
        await Task.Delay(150);
        (await KeysAsync(prefix)).Should().ContainSingle().Which.Should().EndWith(":state");
    }

    [Test]
    public async Task Release_OfTheLastEntry_DeletesTheCounterKeys()
    {
        var prefix = RedisTestServer.UniquePrefix();
        var store = RedisCounterStoreTests.CreateStore(new FakeTimeProvider(), prefix);
        var (_, budgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Grant, "g", 2));

        await store.ReleaseAsync(budgets);

        (await KeysAsync(prefix)).Should().ContainSingle().Which.Should().EndWith(":state");
    }

    [Test]
    public async Task Reserve_TotalKeyLost_IsRebuiltFromTheEntries()
    {
        var prefix = RedisTestServer.UniquePrefix();
        var store = RedisCounterStoreTests.CreateStore(new FakeTimeProvider(), prefix);
        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Grant, "g", 2));
        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Grant, "g", 2));
        await RedisTestServer.Connection.GetDatabase().KeyDeleteAsync(RedisCounterScript.CounterKey(prefix, 'n', Grant, "g"));

        var (result, budgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Grant, "g", 2));

        result.IsAcquired.Should().BeFalse();
        budgets[0].Remaining.Should().Be(1);
    }

    private static async Task<List<string>> KeysAsync(string prefix)
    {
        var server = RedisTestServer.Connection.GetServer(RedisTestServer.Server.Configuration);
        var keys = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: "{" + prefix + "}*"))
        {
            keys.Add(key!);
        }

        return keys;
    }
}
