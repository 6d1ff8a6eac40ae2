using System.Diagnostics;
using PolicyLayer.TestUtils.Fakes;

namespace PolicyLayer.Core.Tests.Operations;

public sealed class TraceTests : TelemetryTestBase
{
    private const string Traced = """
        { "version": "1", "default": "deny",
          "tools": { "trace_read_*": {}, "trace_delete": { "action": "deny", "reason": "No." }, "trace_limited": { "limits": [ { "counter": "c", "window": "minute", "max": 1, "scope": "grant" } ] } } }
        """;

    [Test]
    public async Task EachDecision_IsOneActivity_TaggedWithToolOutcomeRuleRiskAndShadowed()
    {
        using var recorder = new ActivityRecorder("trace_");
        using var evaluator = Evaluator(Traced);

        await evaluator.EvaluateAsync(Call("trace_read_flows"));
        await evaluator.EvaluateAsync(Call("trace_delete"));

        recorder.Stopped.Should().HaveCount(2);
        var allowed = recorder.Stopped[0];
        allowed.OperationName.Should().Be("policylayer.evaluate");
        allowed.DisplayName.Should().Be("policylayer.evaluate trace_read_flows");
        allowed.Source.Name.Should().Be("PolicyLayer");
        allowed.GetTagItem("policylayer.outcome").Should().Be("allow");
        allowed.GetTagItem("policylayer.rule").Should().Be("/tools/trace_read_*");
        allowed.GetTagItem("policylayer.policy.revision").Should().Be(evaluator.Policy.Revision);
        allowed.GetTagItem("policylayer.risk.category").Should().Be("read");
        allowed.GetTagItem("policylayer.risk.level").Should().Be("low");
        allowed.GetTagItem("policylayer.shadowed").Should().Be(false);
        allowed.GetTagItem("policylayer.reason").Should().BeNull("an allowed call has nothing to explain");
        var denied = recorder.Stopped[1];
        denied.GetTagItem("policylayer.outcome").Should().Be("deny");
        denied.GetTagItem("policylayer.reason").Should().Be("No.");
        denied.Status.Should().Be(ActivityStatusCode.Unset, "a refusal is the policy working, not an error");
    }

    [Test]
    public async Task RateLimitedDecision_CarriesRetryAfterInSeconds()
    {
        using var recorder = new ActivityRecorder("trace_");
        using var evaluator = Evaluator(Traced);

        await evaluator.EvaluateAsync(Call("trace_limited"));
        await evaluator.EvaluateAsync(Call("trace_limited"));

        recorder.Stopped[1].GetTagItem("policylayer.retry_after").Should().Be(60.0);
    }

    [Test]
    public async Task ShadowedRefusal_IsTracedAsShadowed()
    {
        using var recorder = new ActivityRecorder("trace_");
        using var evaluator = Evaluator(Traced, shadow: true);

        await evaluator.EvaluateAsync(Call("trace_delete"));

        var activity = recorder.Stopped.Should().ContainSingle().Subject;
        activity.GetTagItem("policylayer.outcome").Should().Be("deny");
        activity.GetTagItem("policylayer.shadowed").Should().Be(true);
    }

    [Test]
    public async Task Activity_IsAChildOfTheCallersActivity_AndLeavesItCurrent()
    {
        using var recorder = new ActivityRecorder("trace_");
        using var evaluator = Evaluator(Traced);
        using var parentSource = new ActivitySource("PolicyLayer.Tests.Host");
        using var parentListener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "PolicyLayer.Tests.Host",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(parentListener);
        using var parent = parentSource.StartActivity("tools/call")!;

        await evaluator.EvaluateAsync(Call("trace_read_x"));

        recorder.Stopped.Single().ParentSpanId.Should().Be(parent.SpanId);
        recorder.Stopped.Single().TraceId.Should().Be(parent.TraceId);
        Activity.Current.Should().BeSameAs(parent);
    }

    [Test]
    public async Task FailedEvaluation_IsTracedWithErrorStatus()
    {
        using var recorder = new ActivityRecorder("trace_");
        using var evaluator = Evaluator(Traced, store: new FailingCounterStore());

        await evaluator.EvaluateAsync(Call("trace_limited"));

        var activity = recorder.Stopped.Single();
        activity.Status.Should().Be(ActivityStatusCode.Error);
        activity.GetTagItem("policylayer.rule").Should().Be("(error)");
    }
}
