using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace PolicyLayer;

/// <summary>Options of a <see cref="PolicyEvaluator"/>.</summary>
public sealed class PolicyEvaluatorOptions
{
    /// <summary>The clock that every window and retry time is computed from.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where counters live.</summary>
    /// <value>The default value is <see langword="null"/>: the evaluator creates an <see cref="InMemoryCounterStore"/> on <see cref="TimeProvider"/>.</value>
    public CounterStore? CounterStore { get; set; }

    /// <summary>Classifies tools that the policy's <c>classify</c> section does not name.</summary>
    /// <value>The default value is <see cref="ToolRiskClassifier.Default"/>.</value>
    public ToolRiskClassifier Classifier { get; set; } = ToolRiskClassifier.Default;

    /// <summary>What a call gets when the counter store fails (an outage, a time-out).</summary>
    /// <value>The default value is <see cref="CounterStoreFailureMode.FailClosed"/>: the call is refused.</value>
    public CounterStoreFailureMode CounterStoreFailureMode { get; set; } = CounterStoreFailureMode.FailClosed;

    /// <summary>Evaluates, logs and counts every decision as usual, but refuses nothing.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ShadowMode { get; set; }

    /// <summary>Creates the loggers of decisions and failures.</summary>
    /// <value>The default value is <see langword="null"/>: nothing is logged.</value>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Whether decision logs carry the call's argument values. Arguments may hold personal data or secrets,
    /// so by default only their names are logged; turn this on only where such logs are allowed.
    /// </summary>
    /// <value>The default value is <see langword="false"/>: argument names only.</value>
    public bool LogArgumentValues { get; set; }

    /// <summary>
    /// Creates the <c>PolicyLayer</c> meter (see <see cref="PolicyLayerTelemetry"/>), so that the host's metrics
    /// pipeline scopes and disposes it. Dependency injection passes the container's factory when it has one.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: a meter shared by every evaluator in the process.</value>
    public IMeterFactory? MeterFactory { get; set; }
}

/// <summary>What a call gets when the counter store fails.</summary>
public enum CounterStoreFailureMode
{
    /// <summary>The call is refused, with a reason that says the store failed.</summary>
    FailClosed = 0,

    /// <summary>The call goes ahead uncounted, and a warning is logged for every such call.</summary>
    FailOpen = 1,
}
