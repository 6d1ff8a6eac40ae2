using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using PolicyLayer.TestUtils.Fakes;

namespace PolicyLayer.Core.Tests.Operations;

public sealed class MetricsTests : TelemetryTestBase
{
    [Test]
    public async Task Decisions_AreCountedByOutcomeRuleRiskAndShadowed()
    {
        using var evaluator = Evaluator();
        using var decisions = Collect<long>(PolicyLayerTelemetry.DecisionsInstrument);

        await evaluator.EvaluateAsync(Call("list_flows"));
        await evaluator.EvaluateAsync(Call("delete_flow"));
        await evaluator.EvaluateAsync(Call("execute_flow"));
        await evaluator.EvaluateAsync(Call("unknown_tool"));

        var measurements = decisions.GetMeasurementSnapshot();
        measurements.Should().HaveCount(4);
        measurements.Should().OnlyContain(m => m.Value == 1 && Equals(Tag(m, "policylayer.shadowed"), false));
        measurements.Select(m => (Tag(m, "policylayer.outcome"), Tag(m, "policylayer.rule"), Tag(m, "policylayer.risk.category"))).Should().Equal(
            ("allow", "/tools/list_flows", "read"),
            ("deny", "/tools/delete_flow", "destructive"),
            ("require_approval", "/tools/execute_flow", "execute"),
            ("deny", "(default)", Tag(measurements[3], "policylayer.risk.category")));
        measurements.Should().OnlyContain(m => !m.Tags.ContainsKey("policylayer.tool.name"), "tool names come from clients: unbounded cardinality");
    }

    [Test]
    public async Task Decision_RateLimited_IsCountedAsDenyByTheLimit()
    {
        using var evaluator = Evaluator();
        using var decisions = Collect<long>(PolicyLayerTelemetry.DecisionsInstrument);

        await evaluator.EvaluateAsync(Call("add_labels"));
        await evaluator.EvaluateAsync(Call("add_labels"));

        decisions.LastMeasurement!.Tags.Should().Contain("policylayer.outcome", "deny").And.Contain("policylayer.rule", "/tools/add_labels/limits/0");
    }

    [Test]
    public async Task ShadowedRefusal_IsCountedAsTheRefusalItWouldHaveBeen_AndMarkedShadowed()
    {
        using var evaluator = Evaluator(shadow: true);
        using var decisions = Collect<long>(PolicyLayerTelemetry.DecisionsInstrument);

        var decision = await evaluator.EvaluateAsync(Call("delete_flow"));

        decision.IsAllowed.Should().BeTrue("shadow mode refuses nothing");
        var m = decisions.LastMeasurement!;
        m.Tags.Should().Contain("policylayer.outcome", "deny").And.Contain("policylayer.shadowed", true).And.Contain("policylayer.rule", "/tools/delete_flow");
    }

    [Test]
    public async Task Duration_IsRecordedInSecondsPerDecision()
    {
        using var evaluator = Evaluator(store: new DelayedStore(Time, TimeSpan.FromMilliseconds(250)));
        using var duration = Collect<double>(PolicyLayerTelemetry.EvaluationDurationInstrument);

        var pending = evaluator.EvaluateAsync(Call("add_labels")).AsTask();
        Time.Advance(TimeSpan.FromMilliseconds(250));
        (await pending).IsAllowed.Should().BeTrue();

        duration.Instrument!.Unit.Should().Be("s");
        var m = duration.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        m.Value.Should().BeApproximately(0.25, 1e-9);
        m.Tags.Should().Contain("policylayer.outcome", "allow").And.Contain("policylayer.shadowed", false);
    }

    [TestCase(CounterStoreFailureMode.FailClosed, "fail_closed", false)]
    [TestCase(CounterStoreFailureMode.FailOpen, "fail_open", true)]
    public async Task CounterStoreFailure_IsCountedWithItsTypeAndMode(CounterStoreFailureMode mode, string modeTag, bool allowed)
    {
        using var evaluator = Evaluator(store: new FailingCounterStore(async: true), mode: mode);
        using var errors = Collect<long>(PolicyLayerTelemetry.CounterStoreErrorsInstrument);

        var decision = await evaluator.EvaluateAsync(Call("add_labels"));

        decision.IsAllowed.Should().Be(allowed);
        var m = errors.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        m.Tags.Should().Contain("error.type", typeof(TimeoutException).FullName).And.Contain("policylayer.counter_store.failure_mode", modeTag);
    }

    [Test]
    public async Task NoMeterFactory_PublishesOnTheSharedPolicyLayerMeter()
    {
        using var evaluator = new PolicyEvaluator(PolicyDocument.Parse(Policy), new PolicyEvaluatorOptions { TimeProvider = Time });
        using var decisions = new MetricCollector<long>(null, PolicyLayerTelemetry.MeterName, PolicyLayerTelemetry.DecisionsInstrument);

        await evaluator.EvaluateAsync(Call("execute_flow"));

        decisions.GetMeasurementSnapshot().Should().Contain(m => Equals(m.Tags["policylayer.rule"], "/tools/execute_flow"));
    }

    /// <summary>An in-memory store whose answers arrive after a delay on the fake clock, as a remote store's would.</summary>
    private sealed class DelayedStore(TimeProvider time, TimeSpan delay) : CounterStore
    {
        private readonly InMemoryCounterStore _inner = new(new InMemoryCounterStoreOptions { TimeProvider = time });

        public override async ValueTask<CounterReservationResult> TryReserveAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default)
        {
            await Task.Delay(delay, time, cancellationToken);
            return await _inner.TryReserveAsync(requests, budgets, cancellationToken);
        }

        public override ValueTask ReleaseAsync(ReadOnlyMemory<CounterBudget> reserved, CancellationToken cancellationToken = default) =>
            _inner.ReleaseAsync(reserved, cancellationToken);

        public override ValueTask GetBudgetsAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default) =>
            _inner.GetBudgetsAsync(requests, budgets, cancellationToken);
    }

    [Test]
    public void MeterAndActivitySource_CarryTheAssemblysVersion_WrittenIntoTheBuild()
    {
        // The version is a constant generated at build time (no reflection at start-up); it must stay the assembly's own.
        var expected = typeof(PolicyEvaluator).Assembly.GetName().Version!.ToString();
        using var evaluator = Evaluator();
        using var decisions = Collect<long>(PolicyLayerTelemetry.DecisionsInstrument);

        decisions.Instrument.Should().NotBeNull();
        decisions.Instrument!.Meter.Version.Should().Be(expected);
        PolicyLayer.Diagnostics.PolicyLayerInstruments.Source.Version.Should().Be(expected);
    }
}
