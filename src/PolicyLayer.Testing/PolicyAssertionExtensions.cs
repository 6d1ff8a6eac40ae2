using System.Diagnostics.Contracts;

namespace PolicyLayer.Testing;

/// <summary>The entry points of the policy assertions: <c>decision.Should()</c>, <c>decisions.Should()</c>, <c>risk.Should()</c>.</summary>
public static class PolicyAssertionExtensions
{
    /// <summary>Assertions on one decision.</summary>
    /// <param name="decision">The decision.</param>
    [Pure]
    public static PolicyDecisionAssertions Should(this PolicyDecision decision) => new(decision);

    /// <summary>Assertions on the decisions of a run of calls.</summary>
    /// <param name="decisions">The decisions.</param>
    [Pure]
    public static PolicyDecisionListAssertions Should(this PolicyDecisionList decisions) => new(decisions);

    /// <summary>Assertions on a tool's risk.</summary>
    /// <param name="risk">The risk profile.</param>
    [Pure]
    public static RiskProfileAssertions Should(this RiskProfile risk) => new(risk);
}
