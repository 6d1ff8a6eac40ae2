namespace PolicyLayer.Core.Tests;

public class CallerIdentityTests
{
    [Test]
    public void GetScopeKey_GrantScope_ReturnsGrantId()
    {
        var caller = new CallerIdentity { GrantId = "g1", SessionId = "s1" };
        caller.GetScopeKey(CounterScope.Grant).Should().Be("g1");
        caller.GetScopeKey(CounterScope.User).Should().BeNull();
        caller.GetScopeKey(CounterScope.Global).Should().BeEmpty();
    }
}
