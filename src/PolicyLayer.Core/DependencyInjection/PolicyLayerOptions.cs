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

    /// <summary>
    /// Whether <see cref="PolicyPath"/> is watched: a valid new version of the file is put in force atomically
    /// (calls in flight finish under the old one); an invalid or unreadable one is refused, its errors logged,
    /// and the last good version stays in force. Ignored when <see cref="Policy"/> is set.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool WatchPolicyFile { get; set; }

    /// <summary>
    /// How often a watched policy file is looked at. A change is read once the file has held still for one
    /// interval, so a new version is in force one to two intervals after it was written.
    /// </summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan PolicyFilePollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether decision logs carry argument values, not only argument names. See <see cref="PolicyEvaluatorOptions.LogArgumentValues"/>.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool LogArgumentValues { get; set; }
}
