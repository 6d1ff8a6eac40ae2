using System.Collections;

namespace PolicyLayer.Testing;

/// <summary>The decisions of a run of calls of one tool, in call order.</summary>
public sealed class PolicyDecisionList : IReadOnlyList<PolicyDecision>
{
    private readonly PolicyDecision[] _decisions;

    internal PolicyDecisionList(string toolName, PolicyDecision[] decisions)
    {
        ToolName = toolName;
        _decisions = decisions;
    }

    /// <summary>The tool that was called.</summary>
    public string ToolName { get; }

    /// <summary>The number of calls.</summary>
    public int Count => _decisions.Length;

    /// <summary>The decision of the call at <paramref name="index"/> (zero-based).</summary>
    /// <param name="index">The call's position.</param>
    public PolicyDecision this[int index] => _decisions[index];

    /// <summary>The decision of the last call.</summary>
    public PolicyDecision Last => _decisions[^1];

    /// <summary>How many calls had <paramref name="outcome"/>.</summary>
    /// <param name="outcome">The outcome.</param>
    public int CountOf(PolicyOutcome outcome) => _decisions.Count(d => d.Outcome == outcome);

    /// <inheritdoc />
    public IEnumerator<PolicyDecision> GetEnumerator() => ((IEnumerable<PolicyDecision>)_decisions).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public override string ToString() =>
        $"{Count} calls of {ToolName}: {CountOf(PolicyOutcome.Allow)} allowed, {CountOf(PolicyOutcome.Deny)} denied, {CountOf(PolicyOutcome.RequireApproval)} held for approval";
}
