using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace PolicyLayer.Redis.Tests;

/// <summary>Key layout: one key per counter definition and scope value, a hash tag each, bounded length, expiry of quiet scopes.</summary>
public sealed class RedisKeyTests
{
    private static readonly CounterDefinition Session = new("all_calls", 5, TimeSpan.FromSeconds(30), CounterScope.Session);
    private static readonly CounterDefinition Grant = new("labels", 5, TimeSpan.FromMinutes(2), CounterScope.Grant);

    [Test]
    public async Task Reserve_EachCounterAndScopeValue_IsOneKeyWithAHashTagOfItsOwn()
    {
        var prefix = RedisTestServer.UniquePrefix();
        var store = RedisCounterStoreTests.CreateStore(new FakeTimeProvider(), prefix);

        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Session, "session-1", 1), new CounterRequest(Grant, "grant-9", 1));
        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Grant, "grant-10", 1));

        var keys = await KeysAsync(prefix);
        keys.Should().HaveCount(3, "one key per counter and scope value, and no store-wide key");
        keys.Should().OnlyContain(k => k.StartsWith(prefix + ":{", StringComparison.Ordinal) && k.EndsWith('}'));
        keys.Select(k => k[k.IndexOf('{', StringComparison.Ordinal)..]).Distinct().Should().HaveCount(3, "each key's hash tag names its counter and scope value");
    }

    [Test]
    public void CounterKey_NamesThatContainSeparators_NeverCollide()
    {
        var a = new CounterDefinition("a:1:b", 1, TimeSpan.FromSeconds(1), CounterScope.Grant);
        var b = new CounterDefinition("a", 1, TimeSpan.FromSeconds(1), CounterScope.Grant);

        RedisCounterKeys.CounterKey("p", a, "c").Should().NotBe(RedisCounterKeys.CounterKey("p", b, "b:1:c"));
    }

    [Test]
    public void CounterKey_DiffersForEveryPartOfTheDefinition()
    {
        var baseline = new CounterDefinition("calls", 10, TimeSpan.FromMinutes(1), CounterScope.Grant);
        var variants = new[]
        {
            baseline,
            new CounterDefinition("calls", 11, TimeSpan.FromMinutes(1), CounterScope.Grant),
            new CounterDefinition("calls", 10, TimeSpan.FromMinutes(2), CounterScope.Grant),
            new CounterDefinition("calls", 10, TimeSpan.FromMinutes(1), CounterScope.Session),
            new CounterDefinition("calls", 10, TimeSpan.FromMinutes(1), CounterScope.Grant) { IncrementFrom = "args.amount" },
            new CounterDefinition("calls", 10, TimeSpan.FromMinutes(1), CounterScope.Grant) { IncrementFrom = "args.count" },
        };

        variants.Select(v => (string)RedisCounterKeys.CounterKey("p", v, "g")!).Distinct().Should().HaveCount(variants.Length);
        RedisCounterKeys.CounterKey("p", new CounterDefinition("calls", 10, TimeSpan.FromMinutes(1), CounterScope.Grant), "g")
            .Should().Be(RedisCounterKeys.CounterKey("p", baseline, "g"), "equal definitions share a key");
    }

    [TestCase(65)]
    [TestCase(1 << 20)]
    public void CounterKey_LongScopeValue_IsHashedToABoundedLength(int length)
    {
        var scope = new string('a', length);

        var key = (string)RedisCounterKeys.CounterKey("p", Grant, scope)!;

        key.Length.Should().BeLessThan(60);
        key.Should().NotBe((string)RedisCounterKeys.CounterKey("p", Grant, scope + "b")!);
    }

    [TestCase("has space")]
    [TestCase("brace}")]
    [TestCase("{tag}")]
    [TestCase("ünïcode")]
    public void CounterKey_ScopeValueWithUnusualCharacters_IsHashed_AndCannotCollideWithAPlainOne(string scope)
    {
        var key = (string)RedisCounterKeys.CounterKey("p", Grant, scope)!;
        var digestPart = key[(key.IndexOf('#', StringComparison.Ordinal) + 1)..^1];

        key.Should().Contain("#");
        key.Count(c => c == '{').Should().Be(1);
        key.Count(c => c == '}').Should().Be(1);
        RedisCounterKeys.CounterKey("p", Grant, "#" + digestPart).Should().NotBe((RedisKey)key, "a plain value that looks like a digest is hashed too");
        RedisCounterKeys.CounterKey("p", Grant, "plain-1").ToString().Should().EndWith("=plain-1}");
    }

    [Test]
    public async Task Reserve_SetsExpiryToTheWindowPlusSlack_SoQuietScopesVanish()
    {
        var prefix = RedisTestServer.UniquePrefix();
        var store = RedisCounterStoreTests.CreateStore(new FakeTimeProvider(), prefix);

        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Session, "session-1", 1), new CounterRequest(Grant, "grant-9", 1));

        var database = RedisTestServer.Connection.GetDatabase();
        var sessionTtl = await database.KeyTimeToLiveAsync(RedisCounterKeys.CounterKey(prefix, Session, "session-1"));
        var grantTtl = await database.KeyTimeToLiveAsync(RedisCounterKeys.CounterKey(prefix, Grant, "grant-9"));
        sessionTtl.Should().BeCloseTo(TimeSpan.FromSeconds(31), TimeSpan.FromSeconds(1));
        grantTtl.Should().BeCloseTo(TimeSpan.FromSeconds(121), TimeSpan.FromSeconds(1));
    }

    [Test]
    public async Task Reserve_AfterTheScopeWentQuiet_KeysAreGone()
    {
        var prefix = RedisTestServer.UniquePrefix();
        var shortWindow = new CounterDefinition("tiny", 1, TimeSpan.FromMilliseconds(300), CounterScope.Session);
        var store = new RedisCounterStore(RedisTestServer.Connection, new RedisCounterStoreOptions { KeyPrefix = prefix, ExpirySlack = TimeSpan.Zero });

        await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(shortWindow, "s", 1));
        (await KeysAsync(prefix)).Should().ContainSingle();

        // Redis's own clock expires the keys; nothing to fake here, so wait out the 300 ms once (long enough that a
        // loaded machine still sees the key before it expires).
        await Task.Delay(1000);
        (await KeysAsync(prefix)).Should().BeEmpty();
    }

    [Test]
    public async Task Release_OfTheLastEntry_LeavesAnEmptyLogThatExpiresByItself()
    {
        var prefix = RedisTestServer.UniquePrefix();
        var store = RedisCounterStoreTests.CreateStore(new FakeTimeProvider(), prefix);
        var (_, budgets) = await RedisCounterStoreTests.ReserveOnAsync(store, new CounterRequest(Grant, "g", 2));

        await store.ReleaseAsync(budgets);

        var log = await RedisCounterLog.ReadAsync(RedisTestServer.Connection.GetDatabase(), prefix, Grant, "g");
        log!.Entries.Should().BeEmpty();
        log.Used.Should().Be(0);
        (await RedisTestServer.Connection.GetDatabase().KeyTimeToLiveAsync(RedisCounterKeys.CounterKey(prefix, Grant, "g")))
            .Should().BeCloseTo(TimeSpan.FromSeconds(121), TimeSpan.FromSeconds(1), "the key keeps the expiry of its last reservation");
    }

    internal static async Task<List<string>> KeysAsync(string prefix)
    {
        var server = RedisTestServer.Connection.GetServer(RedisTestServer.Server.Configuration);
        var keys = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: prefix + ":*"))
        {
            keys.Add(key!);
        }

        return keys;
    }
}
