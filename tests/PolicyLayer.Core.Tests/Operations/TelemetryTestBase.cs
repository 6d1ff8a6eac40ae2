using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace PolicyLayer.Core.Tests.Operations;

/// <summary>An evaluator wired to a fake logger, a meter factory of its own and a clock the test moves.</summary>
public abstract class TelemetryTestBase
{
    protected const string Policy = """
        {
          "version": "1",
          "default": "deny",
          "tools": {
            "list_flows": {},
            "add_labels": { "limits": [ { "counter": "labels", "window": "minute", "max": 1, "scope": "grant" }, { "counter": "all", "window": "minute", "max": 100, "scope": "session" } ] },
            "delete_flow": { "action": "deny", "reason": "Deleting is done by people." },
            "execute_flow": { "action": "require_approval", "reason": "Runs a production workflow." }
          }
        }
        """;

    private ServiceProvider _services = null!;

    protected FakeTimeProvider Time { get; private set; } = null!;

    protected FakeLogCollector Logs { get; private set; } = null!;

    protected ILoggerFactory LoggerFactory { get; private set; } = null!;

    protected IMeterFactory MeterFactory { get; private set; } = null!;

    [SetUp]
    public void CreateSinks()
    {
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        MeterFactory = _services.GetRequiredService<IMeterFactory>();
        Logs = new FakeLogCollector();
        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(Logs)));
    }

    [TearDown]
    public void DisposeSinks()
    {
        LoggerFactory.Dispose();
        _services.Dispose();
    }

    protected PolicyEvaluator Evaluator(string json = Policy, bool shadow = false, bool logValues = false, CounterStore? store = null, CounterStoreFailureMode mode = CounterStoreFailureMode.FailClosed) =>
        new(PolicyDocument.Parse(json), new PolicyEvaluatorOptions
        {
            TimeProvider = Time,
            LoggerFactory = LoggerFactory,
            MeterFactory = MeterFactory,
            ShadowMode = shadow,
            LogArgumentValues = logValues,
            CounterStore = store,
            CounterStoreFailureMode = mode,
        });

    protected MetricCollector<T> Collect<T>(string instrument)
        where T : struct =>
        new(MeterFactory, PolicyLayerTelemetry.MeterName, instrument, Time);

    protected static ToolCall Call(string tool, string? args = null) =>
        new(tool, new CallerIdentity { GrantId = "grant-1", SessionId = "session-1" }, args is null ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(args));

    protected static object? Tag(CollectedMeasurement<long> m, string name) => m.Tags.TryGetValue(name, out var v) ? v : null;

    protected static object? Tag(CollectedMeasurement<double> m, string name) => m.Tags.TryGetValue(name, out var v) ? v : null;

    /// <summary>Collects the stopped activities of the PolicyLayer source whose tool is <paramref name="tool"/> (tests may run beside others).</summary>
    protected sealed class ActivityRecorder : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly List<Activity> _stopped = [];

        public ActivityRecorder(string toolPrefix)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == PolicyLayerTelemetry.ActivitySourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (activity.GetTagItem("policylayer.tool.name") is string tool && tool.StartsWith(toolPrefix, StringComparison.Ordinal))
                    {
                        lock (_stopped)
                        {
                            _stopped.Add(activity);
                        }
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public IReadOnlyList<Activity> Stopped
        {
            get
            {
                lock (_stopped)
                {
                    return [.. _stopped];
                }
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
