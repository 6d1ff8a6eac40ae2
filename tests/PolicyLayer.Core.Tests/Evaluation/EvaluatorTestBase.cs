using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace PolicyLayer.Core.Tests.Evaluation;

public abstract class EvaluatorTestBase
{
    protected FakeTimeProvider Time { get; private set; } = null!;

    [SetUp]
    public void CreateClock() =>
        // 12:00:00.000 on a fixed day: tests that care about calendar boundaries move from here.
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    protected PolicyEvaluator Evaluator(string json, CounterStore? store = null, ToolRiskClassifier? classifier = null, CounterStoreFailureMode mode = CounterStoreFailureMode.FailClosed) =>
        new(PolicyDocument.Parse(json), new PolicyEvaluatorOptions
        {
            TimeProvider = Time,
            CounterStore = store,
            Classifier = classifier ?? ToolRiskClassifier.Default,
            CounterStoreFailureMode = mode,
        });

    protected static ToolCall Call(string tool, string? grant = "grant-1", string? args = null, string? session = "session-1", bool approved = false, ToolDescriptor? descriptor = null) =>
        new(tool, new CallerIdentity { GrantId = grant, SessionId = session }, Args(args), descriptor) { IsApproved = approved };

    protected static Dictionary<string, JsonElement>? Args(string? json) =>
        json is null ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json);
}
