namespace PolicyLayer;

/// <summary>
/// The names under which PolicyLayer publishes metrics and traces, for OpenTelemetry's
/// <c>AddMeter</c> and <c>AddSource</c>: <c>.AddMeter(PolicyLayerTelemetry.MeterName)</c>.
/// </summary>
public static class PolicyLayerTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> of decisions, durations and counter-store errors.</summary>
    public const string MeterName = "PolicyLayer";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> that traces one activity per decision.</summary>
    public const string ActivitySourceName = "PolicyLayer";

    /// <summary>The counter of decisions, tagged with outcome, rule, risk category and whether shadowed.</summary>
    public const string DecisionsInstrument = "policylayer.decisions";

    /// <summary>The histogram of how long each decision took, in seconds, tagged with outcome and whether shadowed.</summary>
    public const string EvaluationDurationInstrument = "policylayer.evaluation.duration";

    /// <summary>The counter of counter-store failures, tagged with the exception type and the failure mode.</summary>
    public const string CounterStoreErrorsInstrument = "policylayer.counter_store.errors";

    /// <summary>The name of the activity of one decision.</summary>
    public const string EvaluateActivityName = "policylayer.evaluate";
}
