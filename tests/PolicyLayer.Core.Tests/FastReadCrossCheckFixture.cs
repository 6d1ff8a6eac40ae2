using PolicyLayer.Core.Tests.Policies.Equivalence;

namespace PolicyLayer.Core.Tests;

/// <summary>
/// For the whole test run, every policy load's fast read is checked against the full read of the same bytes (see
/// <see cref="FastReadCrossCheck"/>): any test that loads a policy the two readers disagree on fails where it loads it.
/// </summary>
[SetUpFixture]
public sealed class FastReadCrossCheckFixture
{
    [OneTimeSetUp]
    public void Install() => FastReadCrossCheck.Install();

    [OneTimeTearDown]
    public void Report() => FastReadCrossCheck.UninstallAndReport();
}
