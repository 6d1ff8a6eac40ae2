using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace PolicyLayer.Diagnostics;

/// <summary>
/// The meter's instruments and the activity source. One shared set on a static meter, or one per
/// <see cref="IMeterFactory"/> when the host has one (so that its meters are scoped and disposed with it).
/// </summary>
internal sealed class PolicyLayerInstruments
{
    /// <summary>The assembly's version, written into the build (reflection here would cost a native binary milliseconds at start).</summary>
    private const string Version = PackageInfo.AssemblyVersion;

    /// <summary>Evaluations take microseconds; the SDK's default buckets (0 to 10,000) would put every one in the first.</summary>
    private static readonly double[] DurationBuckets =
        [0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

    /// <summary>One activity per decision; shared by every evaluator, as activity sources are meant to be.</summary>
    public static readonly ActivitySource Source = new(PolicyLayerTelemetry.ActivitySourceName, Version);

    /// <summary>The instruments of evaluators created without an <see cref="IMeterFactory"/>.</summary>
    public static readonly PolicyLayerInstruments Shared = new(new Meter(PolicyLayerTelemetry.MeterName, Version));

    private PolicyLayerInstruments(Meter meter)
    {
        Decisions = meter.CreateCounter<long>(
            PolicyLayerTelemetry.DecisionsInstrument,
            unit: "{decision}",
            description: "Tool-call decisions, by the policy's verdict, the rule that decided, the tool's risk category and whether shadow mode overrode it.");
        Duration = meter.CreateHistogram(
            PolicyLayerTelemetry.EvaluationDurationInstrument,
            unit: "s",
            description: "How long deciding a tool call took, counter-store round trips included.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        CounterStoreErrors = meter.CreateCounter<long>(
            PolicyLayerTelemetry.CounterStoreErrorsInstrument,
            unit: "{error}",
            description: "Counter-store calls that failed, by exception type and by what the call got (fail_closed or fail_open).");
    }

    public Counter<long> Decisions { get; }

    public Histogram<double> Duration { get; }

    public Counter<long> CounterStoreErrors { get; }

    /// <summary>The instruments on <paramref name="factory"/>'s meter, or the shared ones when there is no factory.</summary>
    public static PolicyLayerInstruments For(IMeterFactory? factory) =>
        factory is null ? Shared : new(factory.Create(new MeterOptions(PolicyLayerTelemetry.MeterName) { Version = Version }));
}
