using PolicyLayer.Core.Tests.Policies.Equivalence;

namespace PolicyLayer.Gateway.Tests;

/// <summary>
/// Every policy the gateway's tests load is also held to the full reader (the check and the dump are Core.Tests' own,
/// compiled in here: Core's internals are visible to this assembly): a fast read that differs fails the test that loaded it.
/// </summary>
[SetUpFixture]
public sealed class FastReadCrossCheckFixture
{
    [OneTimeSetUp]
    public void Install() => FastReadCrossCheck.Install();

    [OneTimeTearDown]
    public void Report() => FastReadCrossCheck.UninstallAndReport();
}
