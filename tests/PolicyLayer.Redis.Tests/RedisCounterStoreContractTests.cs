using Microsoft.Extensions.Time.Testing;
using PolicyLayer.TestUtils.Counters;

namespace PolicyLayer.Redis.Tests;

/// <summary>
/// The contract every counter store keeps, run against Redis. The suite moves a fake clock, so the store takes its
/// time from it (<see cref="RedisClock.TimeProvider"/>); each test gets a key prefix of its own.
/// </summary>
public sealed class RedisCounterStoreContractTests : CounterStoreContractTests
{
    protected override CounterStore CreateStore(FakeTimeProvider time) => RedisCounterStoreTests.CreateStore(time);
}
