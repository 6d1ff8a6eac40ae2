namespace PolicyLayer.Testing;

/// <summary>Options of a <see cref="PolicyTestHarness"/>.</summary>
public sealed class PolicyTestHarnessOptions
{
    /// <summary>The instant the fake clock starts at.</summary>
    /// <value>The default value is <see cref="PolicyTestHarness.DefaultStartTime"/> (2026-01-05 09:00:00 UTC), so that runs repeat exactly.</value>
    public DateTimeOffset StartTime { get; set; } = PolicyTestHarness.DefaultStartTime;

    /// <summary>Classifies tools that the policy's <c>classify</c> section does not name.</summary>
    /// <value>The default value is <see cref="ToolRiskClassifier.Default"/>.</value>
    public ToolRiskClassifier Classifier { get; set; } = ToolRiskClassifier.Default;

    /// <summary>Where counters live, for testing a policy against a real store (Redis) on the fake clock.</summary>
    /// <value>The default value is <see langword="null"/>: a fresh in-memory store on the harness's fake clock.</value>
    public CounterStore? CounterStore { get; set; }
}
