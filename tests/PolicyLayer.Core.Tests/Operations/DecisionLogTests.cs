using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using PolicyLayer.TestUtils.Fakes;

namespace PolicyLayer.Core.Tests.Operations;

public sealed class DecisionLogTests : TelemetryTestBase
{
    [Test]
    public async Task AllowedDecision_IsLoggedAtDebug_WithToolRuleRiskScopesAndDuration()
    {
        using var evaluator = Evaluator();

        await evaluator.EvaluateAsync(Call("add_labels", """{ "flow": "f1" }"""));

        var record = Logs.LatestRecord;
        record.Level.Should().Be(LogLevel.Debug);
        record.Id.Should().Be(new EventId(1, "DecisionAllowed"));
        record.Category.Should().Be("PolicyLayer.PolicyEvaluator");
        Field(record, "ToolName").Should().Be("add_labels");
        Field(record, "RuleId").Should().Be("/tools/add_labels");
        Field(record, "PolicyRevision").Should().Be(evaluator.Policy.Revision);
        Field(record, "RiskCategory").Should().Be("write");
        Field(record, "ScopeKinds").Should().Be("grant,session");
        Field(record, "Arguments").Should().Be("[flow]");
        Field(record, "DurationMs").Should().NotBeNull();
    }

    [TestCase("delete_flow", 4, "DecisionDenied", "/tools/delete_flow")]
    [TestCase("execute_flow", 5, "DecisionApprovalRequired", "/tools/execute_flow")]
    [TestCase("unknown_tool", 4, "DecisionDenied", "(default)")]
    public async Task RefusedDecision_IsLoggedAtInformation_WithItsReason(string tool, int eventId, string eventName, string rule)
    {
        using var evaluator = Evaluator();

        var decision = await evaluator.EvaluateAsync(Call(tool));

        var record = Logs.LatestRecord;
        record.Level.Should().Be(LogLevel.Information);
        record.Id.Should().Be(new EventId(eventId, eventName));
        Field(record, "RuleId").Should().Be(rule);
        Field(record, "PolicyRevision").Should().Be(decision.PolicyRevision).And.Be(evaluator.Policy.Revision);
        Field(record, "Reason").Should().Be(decision.Reason);
        Field(record, "ScopeKinds").Should().Be("none");
    }

    [TestCase("delete_flow", 6, "ShadowDenied")]
    [TestCase("execute_flow", 7, "ShadowApprovalRequired")]
    public async Task ShadowedRefusal_IsLoggedAsShadowed_AndTheCallGoesAhead(string tool, int eventId, string eventName)
    {
        using var evaluator = Evaluator(shadow: true);

        var decision = await evaluator.EvaluateAsync(Call(tool));

        decision.IsAllowed.Should().BeTrue();
        var record = Logs.LatestRecord;
        record.Level.Should().Be(LogLevel.Information);
        record.Id.Should().Be(new EventId(eventId, eventName));
        record.Message.Should().StartWith("Shadow mode: " + tool + " would have");
    }

    [Test]
    public async Task ShadowedAllow_IsLoggedAtDebugAsShadowed()
    {
        using var evaluator = Evaluator(shadow: true);

        await evaluator.EvaluateAsync(Call("list_flows"));

        Logs.LatestRecord.Id.Should().Be(new EventId(8, "ShadowAllowed"));
        Logs.LatestRecord.Level.Should().Be(LogLevel.Debug);
    }

    [Test]
    public async Task ArgumentValues_AreNeverLogged_ByDefault()
    {
        using var evaluator = Evaluator();
        const string args = """{ "password": "hunter2-s3cret", "amount": 987654321, "nested": { "token": "tok-abcdef" } }""";

        await evaluator.EvaluateAsync(Call("list_flows", args));
        await evaluator.EvaluateAsync(Call("delete_flow", args));
        await evaluator.EvaluateAsync(Call("execute_flow", args));
        await evaluator.EvaluateAsync(Call("unknown_tool", args));

        var records = Logs.GetSnapshot();
        records.Should().HaveCount(4);
        foreach (var record in records)
        {
            var everything = record.Message + " " + string.Join(" ", record.StructuredState!.Select(kv => kv.Key + "=" + kv.Value));
            everything.Should().NotContainAny("hunter2-s3cret", "987654321", "tok-abcdef");
            Field(record, "Arguments").Should().Be("[password,amount,nested]");
        }
    }

    [Test]
    public async Task ArgumentValues_AreLogged_WhenTheHostOptsIn()
    {
        using var evaluator = Evaluator(logValues: true);

        await evaluator.EvaluateAsync(Call("list_flows", """{ "flow": "f1", "amount": 12 }"""));

        Field(Logs.LatestRecord, "Arguments").Should().Be("""{"flow":"f1","amount":12}""");
    }

    [Test]
    public void ArgumentValues_LongerThanTheCap_AreCut()
    {
        var text = PolicyEvaluator.DescribeArguments(
            new Dictionary<string, System.Text.Json.JsonElement> { ["blob"] = System.Text.Json.JsonSerializer.SerializeToElement(new string('a', 5_000)) },
            withValues: true);

        text.Length.Should().Be(PolicyEvaluator.MaxLoggedArgumentChars + 1);
        text.Should().EndWith("…");
    }

    [Test]
    public async Task AllowedDecision_IsNotLogged_WhenDebugIsOff()
    {
        using var factory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(new FakeLoggerProvider(Logs)));
        using var evaluator = new PolicyEvaluator(PolicyDocument.Parse(Policy), new PolicyEvaluatorOptions { TimeProvider = Time, LoggerFactory = factory });

        await evaluator.EvaluateAsync(Call("list_flows"));
        await evaluator.EvaluateAsync(Call("delete_flow"));

        Logs.GetSnapshot().Select(r => r.Id.Id).Should().Equal(4);
    }

    [Test]
    public async Task CounterStoreFailure_FailClosed_LogsTheErrorAndTheRefusal()
    {
        using var evaluator = Evaluator(store: new FailingCounterStore());

        await evaluator.EvaluateAsync(Call("add_labels"));

        var records = Logs.GetSnapshot();
        records.Select(r => (r.Id.Id, r.Level)).Should().Equal((2, LogLevel.Error), (4, LogLevel.Information));
        Field(records[1], "RuleId").Should().Be("(error)");
    }

    private static string? Field(FakeLogRecord record, string name) =>
        record.StructuredState!.FirstOrDefault(kv => kv.Key == name).Value;
}
