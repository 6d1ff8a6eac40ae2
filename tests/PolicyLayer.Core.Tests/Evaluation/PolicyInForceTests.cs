using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PolicyLayer.TestUtils.Fakes;

namespace PolicyLayer.Core.Tests.Evaluation;

/// <summary>
/// The policy and the modes in force are one immutable snapshot, swapped whole: a reload that changes both is one swap,
/// and a call is decided under the snapshot it started with.
/// </summary>
public sealed class PolicyInForceTests
{
    private const string OnlyX = """{ "version": "1", "default": "deny", "tools": { "x": {} } }""";
    private const string OnlyY = """{ "version": "1", "default": "deny", "tools": { "y": {} } }""";
    private const string XLimited = """{ "version": "1", "default": "deny", "tools": { "x": { "limits": [ { "counter": "xs", "window": "minute", "max": 5, "scope": "global" } ] } } }""";

    [Test]
    public void OptionsChangeOfPolicyAndShadowMode_IsPutInForceInOneSwap()
    {
        var current = PolicyDocument.Parse(OnlyX);
        var shadow = false;
        var changes = new ManualChangeTokenSource();
        var services = new ServiceCollection().AddSingleton<IOptionsChangeTokenSource<PolicyLayerOptions>>(changes);
        services.AddPolicyLayer(o =>
        {
            o.Policy = current;
            o.ShadowMode = shadow;
        });
        using var provider = services.BuildServiceProvider();
        var evaluator = provider.GetRequiredService<PolicyEvaluator>();
        var seen = new List<(string Revision, bool Shadow)>();
        evaluator.ListingMayHaveChanged += () => seen.Add((evaluator.Policy.Revision, evaluator.ShadowMode));

        current = PolicyDocument.Parse(OnlyY);
        shadow = true;
        changes.Change();

        // Set one after the other, the first change would be seen with the other still old.
        seen.Should().Equal([(current.Revision, true)]);
    }

    [Test]
    public async Task CallInFlight_FinishesUnderTheModesItStartedWith()
    {
        var store = new GatedFailingStore();
        using var evaluator = new PolicyEvaluator(PolicyDocument.Parse(XLimited), new PolicyEvaluatorOptions { CounterStore = store, ShadowMode = true });

        var pending = evaluator.EvaluateAsync(new ToolCall("x")).AsTask();
        await store.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        evaluator.ShadowMode = false;
        store.Release.TrySetResult();
        var decision = await pending;

        decision.IsShadowed.Should().BeTrue("the call started while shadow mode was on");
        decision.IsAllowed.Should().BeTrue();
        (await evaluator.EvaluateAsync(new ToolCall("y"))).IsAllowed.Should().BeFalse("calls that start after the switch are enforced");
    }

    [Test]
    public void ModeChange_KeepsThePolicy_AndAChangeToTheSameModesChangesNothing()
    {
        using var evaluator = new PolicyEvaluator(PolicyDocument.Parse(OnlyX));
        var policy = evaluator.Policy;
        var raised = 0;
        evaluator.ListingMayHaveChanged += () => raised++;

        evaluator.CounterStoreFailureMode = CounterStoreFailureMode.FailOpen;
        evaluator.ShadowMode = false;
        evaluator.ShadowMode = true;

        evaluator.Policy.Should().BeSameAs(policy);
        evaluator.CounterStoreFailureMode.Should().Be(CounterStoreFailureMode.FailOpen);
        raised.Should().Be(1, "only the switch of shadow mode changes what tools/list shows");
    }

    /// <summary>A store whose reservation waits until released, then fails.</summary>
    private sealed class GatedFailingStore : CounterStore
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask<CounterReservationResult> TryReserveAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Release.Task;
            throw new TimeoutException("The counter store did not answer.");
        }

        public override ValueTask ReleaseAsync(ReadOnlyMemory<CounterBudget> reserved, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public override ValueTask GetBudgetsAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default) =>
            throw new TimeoutException("The counter store did not answer.");
    }
}
