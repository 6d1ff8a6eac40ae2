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
    public void Install() => PolicyDocument.FastReadObserver = FastReadCrossCheck.Observe;

    [OneTimeTearDown]
    public void Report()
    {
        PolicyDocument.FastReadObserver = null;
        TestContext.Progress.WriteLine(
            $"Fast policy reader: {FastReadCrossCheck.Accepted} loads accepted (each equal to the full read), {FastReadCrossCheck.Declined} declined.");
        if (FastReadCrossCheck.FailuresSoFar.Count > 0)
        {
            // Also thrown where each was found; said again here in case a test caught it.
            Assert.Fail($"{FastReadCrossCheck.FailuresSoFar.Count} fast reads differed from the full read. The first: {FastReadCrossCheck.FailuresSoFar.First()}");
        }
    }
}
