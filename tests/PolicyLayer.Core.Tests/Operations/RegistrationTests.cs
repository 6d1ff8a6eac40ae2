using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using PolicyLayer.TestUtils.Fakes;
using Microsoft.Extensions.Time.Testing;

namespace PolicyLayer.Core.Tests.Operations;

public sealed class RegistrationTests
{
    private const string OnlyX = """{ "version": "1", "default": "deny", "tools": { "x": {} } }""";
    private const string OnlyY = """{ "version": "1", "default": "deny", "tools": { "y": {} } }""";

    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("policylayer-di-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task WatchPolicyFile_PutsANewVersionInForce_AndStopsWhenTheContainerIsDisposed()
    {
        var path = Path.Combine(_dir, "policy.json");
        File.WriteAllText(path, OnlyX);
        var time = new FakeTimeProvider();
        var logs = new FakeLogCollector();
        var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(time)
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new FakeLoggerProvider(logs)));
        services.AddPolicyLayer(o =>
        {
            o.PolicyPath = path;
            o.WatchPolicyFile = true;
            o.PolicyFilePollInterval = TimeSpan.FromSeconds(5);
        });
        var provider = services.BuildServiceProvider();
        var evaluator = provider.GetRequiredService<PolicyEvaluator>();

        Rewrite(path, OnlyY, 1);
        time.Advance(TimeSpan.FromSeconds(5));
        time.Advance(TimeSpan.FromSeconds(5));
        (await evaluator.EvaluateAsync(new ToolCall("y"))).IsAllowed.Should().BeTrue();
        logs.GetSnapshot().Should().Contain(r => r.Id.Id == 10 && r.Category == "PolicyLayer.PolicyReload");

        await provider.DisposeAsync();
        Rewrite(path, OnlyX, 2);
        time.Advance(TimeSpan.FromSeconds(5));
        time.Advance(TimeSpan.FromSeconds(5));
        logs.GetSnapshot().Count(r => r.Id.Id == 10).Should().Be(1, "a disposed container watches nothing");
    }

    [Test]
    public async Task PolicyChangedThroughTheOptionsMonitor_IsPutInForce()
    {
        var current = PolicyDocument.Parse(OnlyX);
        var changes = new ManualChangeTokenSource();
        var services = new ServiceCollection().AddSingleton<IOptionsChangeTokenSource<PolicyLayerOptions>>(changes);
        services.AddPolicyLayer(o => o.Policy = current);
        using var provider = services.BuildServiceProvider();
        var evaluator = provider.GetRequiredService<PolicyEvaluator>();
        (await evaluator.EvaluateAsync(new ToolCall("x"))).IsAllowed.Should().BeTrue();

        current = PolicyDocument.Parse(OnlyY);
        changes.Change();

        (await evaluator.EvaluateAsync(new ToolCall("y"))).IsAllowed.Should().BeTrue();
        (await evaluator.EvaluateAsync(new ToolCall("x"))).IsAllowed.Should().BeFalse();
    }

    [Test]
    public async Task HostShadowMode_RefusesNothing_AndLogsAndCountsTheRefusalAsShadowed()
    {
        var logs = new FakeLogCollector();
        var services = new ServiceCollection()
            .AddMetrics()
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new FakeLoggerProvider(logs)));
        services.AddPolicyLayer(o =>
        {
            o.Policy = PolicyDocument.Parse(OnlyX);
            o.ShadowMode = true;
        });
        using var provider = services.BuildServiceProvider();
        using var decisions = new MetricCollector<long>(provider.GetRequiredService<IMeterFactory>(), PolicyLayerTelemetry.MeterName, PolicyLayerTelemetry.DecisionsInstrument);
        var evaluator = provider.GetRequiredService<PolicyEvaluator>();

        var decision = await evaluator.EvaluateAsync(new ToolCall("y"));

        decision.IsAllowed.Should().BeTrue();
        decision.ShadowedOutcome.Should().Be(PolicyOutcome.Deny);
        logs.LatestRecord.Id.Name.Should().Be("ShadowDenied");
        decisions.LastMeasurement!.Tags.Should().Contain("policylayer.outcome", "deny").And.Contain("policylayer.shadowed", true);
    }

    [Test]
    public async Task ShadowModeChangedThroughTheOptionsMonitor_SwitchesEnforcementWithoutARestart()
    {
        var shadow = true;
        var failOpen = false;
        var changes = new ManualChangeTokenSource();
        var logs = new FakeLogCollector();
        var services = new ServiceCollection()
            .AddSingleton<IOptionsChangeTokenSource<PolicyLayerOptions>>(changes)
            .AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)));
        services.AddPolicyLayer(o =>
        {
            o.Policy = PolicyDocument.Parse(OnlyX);
            o.ShadowMode = shadow;
            o.CounterStoreFailureMode = failOpen ? CounterStoreFailureMode.FailOpen : CounterStoreFailureMode.FailClosed;
        });
        using var provider = services.BuildServiceProvider();
        var evaluator = provider.GetRequiredService<PolicyEvaluator>();
        (await evaluator.EvaluateAsync(new ToolCall("y"))).IsShadowed.Should().BeTrue();

        shadow = false;
        failOpen = true;
        changes.Change();

        var enforced = await evaluator.EvaluateAsync(new ToolCall("y"));
        enforced.IsAllowed.Should().BeFalse("shadow mode was switched off through the options");
        enforced.IsShadowed.Should().BeFalse();
        evaluator.CounterStoreFailureMode.Should().Be(CounterStoreFailureMode.FailOpen);
        logs.GetSnapshot().Where(r => r.Id.Name == "PolicyModeChanged").Select(r => r.Message).Should().BeEquivalentTo(
            "ShadowMode changed through the options: it is now off for calls that start from now on.",
            "CounterStoreFailureMode changed through the options: it is now FailOpen for calls that start from now on.");
    }

    [Test]
    public void MissingPolicyFile_ResolvingTheEvaluatorThrowsOneMessageNamingTheOptionAndThePath()
    {
        var path = Path.Combine(_dir, "missing.json");
        var services = new ServiceCollection();
        services.AddPolicyLayer(o => o.PolicyPath = path);
        using var provider = services.BuildServiceProvider();

        var resolve = () => provider.GetRequiredService<PolicyEvaluator>();

        resolve.Should().Throw<InvalidOperationException>()
            .WithMessage($"PolicyLayer cannot start: the policy file named by PolicyLayerOptions.PolicyPath ({path}) does not exist.");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void InvalidPolicyFile_ResolvingTheEvaluatorThrowsEveryError(bool watch)
    {
        var path = Path.Combine(_dir, "policy.json");
        File.WriteAllText(path, """{ "version": "1", "default": "maybe" }""");
        var services = new ServiceCollection();
        services.AddPolicyLayer(o =>
        {
            o.PolicyPath = path;
            o.WatchPolicyFile = watch;
        });
        using var provider = services.BuildServiceProvider();

        var resolve = () => provider.GetRequiredService<PolicyEvaluator>();

        resolve.Should().Throw<InvalidOperationException>().Which.Message.Should().StartWith(
            $"PolicyLayer cannot start: the policy file named by PolicyLayerOptions.PolicyPath ({path}) does not load (1 error):{Environment.NewLine}  {path}:1:");
    }

    [Test]
    public void CounterStoreFailureMode_UndefinedValue_IsRejected()
    {
        using var evaluator = new PolicyEvaluator(PolicyDocument.Parse(OnlyX));

        var set = () => evaluator.CounterStoreFailureMode = (CounterStoreFailureMode)42;

        set.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("value");
        evaluator.CounterStoreFailureMode.Should().Be(CounterStoreFailureMode.FailClosed);
    }

    private static void Rewrite(string path, string text, int second)
    {
        File.WriteAllText(path, text);
        File.SetLastWriteTimeUtc(path, new DateTime(2030, 1, 1, 0, 0, second, DateTimeKind.Utc));
    }
}
