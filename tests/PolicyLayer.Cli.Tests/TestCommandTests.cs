using System.Text.Json;
using PolicyLayer.Cli.Cases;
using PolicyLayer.TestUtils;

namespace PolicyLayer.Cli.Tests;

[Category(Policylayer.ProcessLevel)]
public class TestCommandTests
{
    [TestCase("kestra", 4)]
    [TestCase("shop", 4)]
    [TestCase("kestra-demo", 7)]
    public async Task Test_SampleCases_AllPass_AndExitZero(string name, int cases)
    {
        var result = await Policylayer.RunAsync("test", Policylayer.Sample(name + ".policy.json"), Policylayer.Sample(name + ".cases.json"));

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain($"{cases} cases: {cases} passed, 0 failed.").And.Contain("  PASS  ").And.NotContain("FAIL");
    }

    [Test]
    public async Task Test_FailingCase_PrintsTheStepAndTheDecisionDiff_AndExitsOne()
    {
        var cases = await TempFile("""
            {
              "cases": [
                { "name": "passes", "steps": [ { "call": "add_execution_labels", "expect": "allow" } ] },
                {
                  "name": "expects a 31st call to pass",
                  "caller": { "grant": "g" },
                  "steps": [
                    { "call": "add_execution_labels", "times": 30, "expect": "allow" },
                    { "advance": "10s" },
                    { "call": "add_execution_labels", "expect": { "outcome": "allow", "rule": "/tools/add_execution_labels", "retry_after": "5s" } }
                  ]
                }
              ]
            }
            """);

        var result = await Policylayer.RunAsync("test", Policylayer.Sample("kestra.policy.json"), cases);

        result.ExitCode.Should().Be(1, result.ToString());
        result.Out.Should().Contain("  PASS  passes")
            .And.Contain("  FAIL  expects a 31st call to pass")
            .And.Contain("at $.cases[1].steps[2] (add_execution_labels, at +10s)")
            .And.Contain("outcome  expected allow, actual rate_limited")
            .And.Contain("rule     expected /tools/add_execution_labels, actual /tools/add_execution_labels/limits/0")
            .And.Contain("retry    expected 5s, actual 50s")
            .And.Contain("decision rate_limited by /tools/add_execution_labels/limits/0: Rate limit reached")
            .And.Contain("2 cases: 1 passed, 1 failed.");
    }

    [Test]
    public async Task Test_RepeatedCallsThatFailPartWay_NameTheCall()
    {
        var cases = await TempFile("""
            { "cases": [ { "name": "40 labels", "steps": [ { "call": "add_execution_labels", "times": 40, "expect": "allow" } ] } ] }
            """);

        var result = await Policylayer.RunAsync("test", Policylayer.Sample("kestra.policy.json"), cases);

        result.ExitCode.Should().Be(1, result.ToString());
        result.Out.Should().Contain("(add_execution_labels, call 31 of 40, at +0ms)");
    }

    [Test]
    public async Task Test_InvalidCasesFile_ReportsEveryProblemWithItsPath_AndExitsTwo()
    {
        var cases = await TempFile("""
            { "cases": [ { "name": "x", "steps": [ { "call": "t", "expect": "alow" }, { "advance": "soon" }, { "call": "t", "expect": "allow", "tims": 3 } ] } ] }
            """);

        var result = await Policylayer.RunAsync("test", Policylayer.Sample("kestra.policy.json"), cases);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Err.Should().Contain("$.cases[0].steps[0].expect: unknown outcome \"alow\"")
            .And.Contain("$.cases[0].steps[1].advance: expected a duration")
            .And.Contain("$.cases[0].steps[2].tims: unknown field");
        result.Out.Should().BeEmpty();
    }

    [Test]
    public async Task Test_InvalidPolicy_ExitsOne()
    {
        var policy = await TempFile("""{ "version": "1", "default": "sometimes" }""");

        var result = await Policylayer.RunAsync("test", policy, Policylayer.Sample("kestra.cases.json"));

        result.ExitCode.Should().Be(1, result.ToString());
        result.Err.Should().Contain(policy + ":1:").And.Contain("$.default");
    }

    [Test]
    public void CasesSchema_NamesExactlyTheFieldsTheReaderAccepts()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(RepositoryPaths.Get("src", "PolicyLayer.Cli", "cases.schema.json")));
        var defs = schema.RootElement.GetProperty("$defs");
        static string[] Names(JsonElement properties) => [.. properties.EnumerateObject().Select(p => p.Name)];

        Names(schema.RootElement.GetProperty("properties")).Should().BeEquivalentTo(CasesReader.RootFields);
        Names(defs.GetProperty("case").GetProperty("properties")).Should().BeEquivalentTo(CasesReader.CaseFields);
        Names(defs.GetProperty("caller").GetProperty("properties")).Should().BeEquivalentTo(CasesReader.CallerFields);
        var steps = defs.GetProperty("step").GetProperty("oneOf");
        Names(steps[0].GetProperty("properties")).Concat(Names(steps[1].GetProperty("properties"))).Should().BeEquivalentTo(CasesReader.StepFields);
        Names(steps[1].GetProperty("properties").GetProperty("tool").GetProperty("properties")).Should().BeEquivalentTo(CasesReader.ToolFields);
        var expect = steps[1].GetProperty("properties").GetProperty("expect").GetProperty("oneOf")[1];
        Names(expect.GetProperty("properties")).Should().BeEquivalentTo(CasesReader.ExpectFields);
        defs.GetProperty("outcome").GetProperty("enum").EnumerateArray().Select(e => e.GetString()).Should().BeEquivalentTo(CasesReader.Outcomes);
    }

    private static async Task<string> TempFile(string json) => await ExplainCommandTests.TempPolicy(json);
}
