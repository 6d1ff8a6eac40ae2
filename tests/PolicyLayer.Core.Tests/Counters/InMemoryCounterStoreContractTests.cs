using Microsoft.Extensions.Time.Testing;
using PolicyLayer.TestUtils.Counters;

namespace PolicyLayer.Core.Tests.Counters;

/// <summary>The in-memory store against the contract every counter store keeps.</summary>
public sealed class InMemoryCounterStoreContractTests : CounterStoreContractTests
{
    protected override CounterStore CreateStore(FakeTimeProvider time) =>
        new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time });
}
