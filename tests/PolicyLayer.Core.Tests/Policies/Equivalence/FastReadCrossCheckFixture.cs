using NUnit.Framework;
using PolicyLayer.Core.Tests.Policies.Equivalence;

/// <summary>
/// For the whole test run of the assembly it is compiled into (Core.Tests, and Gateway.Tests, which links it with the
/// check and the dump), every policy load's fast read is checked against the full read of the same bytes (see
/// <see cref="FastReadCrossCheck"/>): any test that loads a policy the two readers disagree on fails where it loads it.
/// In no namespace, so that it runs around every test of the assembly.
/// </summary>
[SetUpFixture]
#pragma warning disable CA1050 // A set-up fixture in no namespace covers the whole assembly.
public sealed class FastReadCrossCheckFixture
#pragma warning restore CA1050
{
    [OneTimeSetUp]
    public void Install() => FastReadCrossCheck.Install();

    [OneTimeTearDown]
    public void Report() => FastReadCrossCheck.UninstallAndReport();
}
