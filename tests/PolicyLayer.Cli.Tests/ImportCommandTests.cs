using System.Text.Json;

namespace PolicyLayer.Cli.Tests;

/// <summary><c>policylayer import intercept</c>: Intercept YAML policies become policy documents, and every difference is reported by line.</summary>
[Category(Policylayer.ProcessLevel)]
public class ImportCommandTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "intercept", name);

    private static string TempPath(string extension) => Path.Combine(TestContext.CurrentContext.WorkDirectory, $"import-{Guid.NewGuid():N}{extension}");

    private static async Task<string> Yaml(string text)
    {
        var file = TempPath(".yaml");
        await File.WriteAllTextAsync(file, text);
        return file;
    }

    [Test]
    public async Task Import_RealisticPolicy_ConvertsAndItsCasesPass()
    {
        var output = TempPath(".json");

        var import = await Policylayer.RunAsync("import", "intercept", Fixture("payments.yaml"), "--output", output);
        var test = await Policylayer.RunAsync("test", output, Fixture("payments.cases.json"));

        import.ExitCode.Should().Be(0, import.ToString());
        test.ExitCode.Should().Be(0, test.ToString() + File.ReadAllText(output));
        test.Out.Should().Contain("5 cases: 5 passed, 0 failed.");
    }

    [Test]
    public async Task Import_ReportsEachChangeOfMeaningWithItsLine()
    {
        var import = await Policylayer.RunAsync("import", "intercept", Fixture("payments.yaml"));

        var file = Fixture("payments.yaml");
        import.Err.Should().Contain($"{file}:2: changed: description is not part of the policy format")
            .And.Contain($"{file}:18: changed: Rule \"charges per hour\": rate_limit 10/hour becomes a sliding window of one hour")
            .And.Contain($"{file}:18: changed: Rule \"charges per hour\": on_deny \"At most 10 charges an hour.\" is not kept for a limit")
            .And.Contain($"{file}:34: changed: Rule \"daily spend\": counter create_charge.daily_spend becomes a limit of 100000 per sliding day (Intercept's window resets at the start of each UTC day)")
            .And.NotContain("not carried");
        using var policy = JsonDocument.Parse(import.Out);
        policy.RootElement.GetProperty("default").GetString().Should().Be("deny");
        policy.RootElement.GetProperty("hide").EnumerateArray().Select(h => h.GetString()).Should().Equal("export_all_customers", "wipe_ledger");
        policy.RootElement.GetProperty("all_tools").GetProperty("limits")[0].GetProperty("counter").GetString().Should().Be("_global._rate_minute");
    }

    [Test]
    public async Task Import_WildcardConditions_ApplyToEveryToolAndToUnlistedOnesUnderDefaultAllow()
    {
        var file = await Yaml("""
            version: "1"
            tools:
              read_file:
                rules: []
              "*":
                rules:
                  - name: "no secrets"
                    conditions:
                      - path: "args.path"
                        op: "regex"
                        value: "^/app/"
                    on_deny: "Only files under /app."
            """);
        var output = TempPath(".json");

        var import = await Policylayer.RunAsync("import", "intercept", file, "-o", output);
        var policy = PolicyDocument.Load(output);
        using var evaluator = new PolicyEvaluator(policy);

        import.ExitCode.Should().Be(0, import.ToString());
        import.Err.Should().Contain(":1: changed: Intercept allows unlisted tools when default is absent");
        (await evaluator.EvaluateAsync(new ToolCall("read_file", new CallerIdentity(), Args("""{ "path": "/etc/passwd" }""")))).Reason.Should().Be("Only files under /app.");
        (await evaluator.EvaluateAsync(new ToolCall("write_file", new CallerIdentity(), Args("""{ "path": "/etc/passwd" }""")))).Reason.Should().Be("Only files under /app.");
        (await evaluator.EvaluateAsync(new ToolCall("write_file", new CallerIdentity(), Args("""{ "path": "/app/x" }""")))).IsAllowed.Should().BeTrue();
    }

    [Test]
    public async Task Import_WhatCannotBeCarried_IsReportedByLine_AndExitsOne()
    {
        var file = await Yaml("""
            version: "1"
            default: deny
            tools:
              send_email:
                rules:
                  - name: "count only above"
                    conditions:
                      - path: "state.send_email.sent"
                        op: "gt"
                        value: 3
                    state:
                      counter: "sent"
                      window: "hour"
                    priority: 3
            """);

        var import = await Policylayer.RunAsync("import", "intercept", file);

        import.ExitCode.Should().Be(1, import.ToString());
        import.Err.Should().Contain($"{file}:8: not carried: Rule \"count only above\": only \"state.send_email.sent lte N\" or \"lt N\"")
            .And.Contain($"{file}:14: not carried: Unknown field \"priority\" in a rule")
            .And.Contain("review before use");
    }

    [TestCase("version: \"2\"\ntools: {}\n", "1: Expected Intercept policy version \"1\"")]
    [TestCase("version: \"1\"\ntools:\n  a: &x\n    rules: []\n  b: *x\n", "YAML anchors and aliases are not supported")]
    [TestCase("version: \"1\"\ntools: [\n", "Malformed YAML")]
    public async Task Import_NotAnInterceptPolicy_ExitsTwoWithTheLine(string yaml, string message)
    {
        var file = await Yaml(yaml);

        var import = await Policylayer.RunAsync("import", "intercept", file);

        import.ExitCode.Should().Be(2, import.ToString());
        import.Err.Should().Contain(message);
    }

    private static Dictionary<string, JsonElement> Args(string json) => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!;
}
