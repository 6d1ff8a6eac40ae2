using Microsoft.Extensions.Time.Testing;
using PolicyLayer.TestUtils.Counters;

namespace PolicyLayer.Redis.Tests;

/// <summary>
/// The counter store contract on a real Redis Cluster (three primaries, three replicas): counters and scopes spread over
/// the slots, so calls with several counters reserve across slots, with compensation when one refuses.
/// </summary>
[NonParallelizable]
public sealed class RedisClusterContractTests : CounterStoreContractTests
{
    private RedisClusterFixture? _fixture;

    [OneTimeSetUp]
    public async Task StartClusterAsync() => _fixture = await RedisClusterFixture.StartAsync();

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        if (_fixture is not null)
        {
            await _fixture.DisposeAsync();
        }
    }

    protected override CounterStore CreateStore(FakeTimeProvider time) =>
        new RedisCounterStore(_fixture!.Connection, new RedisCounterStoreOptions
        {
            KeyPrefix = RedisTestServer.UniquePrefix(),
            Clock = RedisClock.TimeProvider,
            TimeProvider = time,
        });
}
