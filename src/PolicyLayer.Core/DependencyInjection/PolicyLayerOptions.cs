namespace PolicyLayer;

/// <summary>Options of the PolicyLayer services registered by <c>AddPolicyLayer</c>.</summary>
public sealed class PolicyLayerOptions
{
    /// <summary>The path of the policy file to load. Ignored when <see cref="Policy"/> is set.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? PolicyPath { get; set; }

    /// <summary>A policy document already loaded; takes precedence over <see cref="PolicyPath"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public PolicyDocument? Policy { get; set; }

    /// <summary>What a call gets when the counter store fails.</summary>
    /// <value>The default value is <see cref="CounterStoreFailureMode.FailClosed"/>.</value>
    public CounterStoreFailureMode CounterStoreFailureMode { get; set; } = CounterStoreFailureMode.FailClosed;

    /// <summary>Evaluates, logs and counts every decision, but refuses nothing.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ShadowMode { get; set; }
}
