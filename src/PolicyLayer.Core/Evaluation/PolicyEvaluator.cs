namespace PolicyLayer;

/// <summary>
/// Decides every tool call against a <see cref="PolicyDocument"/>: allowed, denied, or approval required,
/// with the rule that decided. Safe to use from many threads; one evaluator serves a whole server.
/// </summary>
public sealed class PolicyEvaluator
{
    /// <summary>Creates an evaluator for <paramref name="policy"/>.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="options">The evaluator's options; defaults when <see langword="null"/>.</param>
    public PolicyEvaluator(PolicyDocument policy, PolicyEvaluatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Policy = policy;
        _ = options;
    }

    /// <summary>The policy in force.</summary>
    public PolicyDocument Policy { get; private set; }

    /// <summary>Decides one call. Never throws for a failure inside evaluation: that refuses the call (fail closed).</summary>
    /// <param name="call">The call.</param>
    /// <param name="cancellationToken">Cancels the decision.</param>
    public ValueTask<PolicyDecision> EvaluateAsync(ToolCall call, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>Whether a tools/list response should show <paramref name="tool"/>: false for hidden tools and tools the policy denies outright.</summary>
    /// <param name="tool">The tool's descriptor.</param>
    public bool IsListed(ToolDescriptor tool) => throw new NotImplementedException();

    /// <summary>The risk of <paramref name="tool"/>: the policy's <c>classify</c> section, else the classifier. Cached per distinct tool.</summary>
    /// <param name="tool">The tool's descriptor.</param>
    public RiskProfile Classify(ToolDescriptor tool) => throw new NotImplementedException();
}
