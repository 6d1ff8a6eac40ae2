using System.Text.Json;

namespace PolicyLayer.Cli.Tests;

[Category(Policylayer.ProcessLevel)]
public class ClassifyAndInitCommandTests
{
    private static readonly string Tools = Policylayer.Fixture("kestra-tools.json");

    [Test]
    public async Task Classify_ToolsFile_PrintsATableWithCategoryLevelAndEvidence()
    {
        var result = await Policylayer.RunAsync("classify", Tools);

        result.ExitCode.Should().Be(0, result.ToString());
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].Should().MatchRegex("^TOOL +CATEGORY +LEVEL +EVIDENCE$");
        lines.Should().Contain(l => l.StartsWith("delete_flow ") && l.Contains(" destructive ") && l.Contains(" critical ") && l.Contains("'delete'"));
        lines.Should().Contain(l => l.StartsWith("list_flows ") && l.Contains(" read ") && l.Contains(" low "));
        result.Out.Should().Contain("5 tools:");
    }

    [Test]
    public async Task Classify_Json_ForABareArray_IsMachineReadable()
    {
        var array = await ExplainCommandTests.TempPolicy("""
            [ { "name": "refund_payment", "description": "Refund a card payment." }, { "name": "get_user", "annotations": { "readOnlyHint": true } } ]
            """);

        var result = await Policylayer.RunAsync("classify", array, "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        var tools = json.RootElement.GetProperty("tools").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        tools["refund_payment"].GetProperty("category").GetString().Should().Be("financial");
        tools["get_user"].GetProperty("category").GetString().Should().Be("read");
        tools["get_user"].GetProperty("evidence").GetArrayLength().Should().BePositive();
    }

    [Test]
    public async Task Classify_Json_KeepsItsShape_ToolsWithNameCategoryLevelAndEvidenceOnly()
    {
        var list = await ExplainCommandTests.TempPolicy("""
            { "tools": [
              { "name": "API-post-search", "description": "Search pages by title" },
              { "name": "update_issue", "description": "Update an issue", "annotations": { "readOnlyHint": false, "destructiveHint": true } },
              { "name": "browser_drag", "description": "Perform drag and drop between two elements" } ] }
            """);

        var result = await Policylayer.RunAsync("classify", list, "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        json.RootElement.EnumerateObject().Select(p => p.Name).Should().Equal("tools");
        var tools = json.RootElement.GetProperty("tools").EnumerateArray().ToList();
        tools.Should().HaveCount(3);
        foreach (var tool in tools)
        {
            tool.EnumerateObject().Select(p => p.Name).Should().Equal("name", "category", "level", "evidence");
            tool.GetProperty("category").GetString().Should().BeOneOf("read", "write", "execute", "destructive", "financial");
            tool.GetProperty("level").GetString().Should().BeOneOf("low", "medium", "high", "critical");
            tool.GetProperty("evidence").EnumerateArray().Should().NotBeEmpty().And.OnlyContain(e => e.ValueKind == JsonValueKind.String && e.GetString()!.Length > 0);
        }

        var categories = tools.ToDictionary(t => t.GetProperty("name").GetString()!, t => t.GetProperty("category").GetString());
        categories.Should().Equal(new Dictionary<string, string?> { ["API-post-search"] = "read", ["update_issue"] = "write", ["browser_drag"] = "write" });
    }

    [Test]
    public async Task Classify_WithPolicy_AppliesItsClassifySectionAndShowsListing()
    {
        var result = await Policylayer.RunAsync("classify", Tools, "--policy", Policylayer.Sample("shop.policy.json"), "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        var tools = json.RootElement.GetProperty("tools").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        tools["delete_flow"].GetProperty("listed").GetBoolean().Should().BeFalse("delete_* is denied outright");
        tools["list_flows"].GetProperty("listed").GetBoolean().Should().BeTrue();
    }

    [Test]
    public async Task Classify_NotAToolList_IsAnInputErrorWithExitCodeTwo()
    {
        var file = await ExplainCommandTests.TempPolicy("""{ "version": "1" }""");

        var result = await Policylayer.RunAsync("classify", file);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Err.Should().Contain("expected a tools/list result");
    }

    [Test]
    public async Task Classify_Server_ClassifiesTheLiveToolListOfTheKestraSample()
    {
        var result = await Policylayer.RunAsync(["classify", "--json", "--server", "--", .. KestraServerCommand()]);

        result.ExitCode.Should().Be(0, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        var tools = json.RootElement.GetProperty("tools").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!, t => t.GetProperty("category").GetString());
        tools.Should().ContainKeys("list_flows", "get_flow", "create_flow", "delete_flow", "execute_flow", "backfill_flow", "add_execution_labels");
        tools["delete_flow"].Should().Be("destructive");
        tools["list_flows"].Should().Be("read");
    }

    [Test]
    public async Task Classify_ServerThatIsNotThere_ExitsTwo()
    {
        var result = await Policylayer.RunAsync("classify", "--server", "--timeout", "20", "--", "dotnet", "no-such-server.dll");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Err.Should().Contain("no-such-server.dll");
    }

    [Test]
    public async Task Init_FromToolsFile_WritesAPolicyThatLoadsAndTreatsEachRiskAsDocumented()
    {
        var result = await Policylayer.RunAsync("init", Tools);

        result.ExitCode.Should().Be(0, result.ToString());
        var policy = PolicyDocument.Parse(result.Out);
        policy.Default.Should().Be(PolicyAction.Deny);
        using var evaluator = new PolicyEvaluator(policy, new PolicyEvaluatorOptions { TimeProvider = new Microsoft.Extensions.Time.Testing.FakeTimeProvider() });
        var caller = new CallerIdentity { SessionId = "s" };
        async Task<PolicyDecision> Call(string tool) => await evaluator.EvaluateAsync(new ToolCall(tool, caller));

        (await Call("list_flows")).Outcome.Should().Be(PolicyOutcome.Allow);
        (await Call("delete_flow")).Outcome.Should().Be(PolicyOutcome.RequireApproval);
        (await Call("execute_flow")).Outcome.Should().Be(PolicyOutcome.RequireApproval);
        (await Call("some_other_tool")).RuleId.Should().Be("(default)");
        for (var i = 0; i < 30; i++)
        {
            (await Call("add_execution_labels")).Outcome.Should().Be(PolicyOutcome.Allow);
        }

        (await Call("add_execution_labels")).RetryAfter.Should().NotBeNull("writes are capped at 30 a minute");
        using var json = JsonDocument.Parse(result.Out);
        json.RootElement.GetProperty("tools").GetProperty("delete_flow").GetProperty("reason").GetString().Should().Contain("destructive");
    }

    [Test]
    public async Task Init_Server_WritesTheFileAndItValidates()
    {
        var output = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"init-{Guid.NewGuid():N}.policy.json");

        var result = await Policylayer.RunAsync(["init", "-o", output, "--server", "--", .. KestraServerCommand()]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Err.Should().Contain($"Wrote {output}: 7 tools");
        var validated = await Policylayer.RunAsync("validate", output);
        validated.ExitCode.Should().Be(0, validated.ToString());
        var again = await Policylayer.RunAsync("init", "-o", output, Tools);
        again.ExitCode.Should().Be(2, "an existing file is not overwritten without --force");
        again.Err.Should().Contain("--force");
    }

    /// <summary>The Kestra sample server, with an allow-all policy so that its tools/list hides nothing.</summary>
    private static string[] KestraServerCommand()
    {
        var allowAll = Path.Combine(TestContext.CurrentContext.WorkDirectory, "allow-all.policy.json");
        File.WriteAllText(allowAll, """{ "version": "1", "default": "allow" }""");
        return ["dotnet", Path.Combine(AppContext.BaseDirectory, "KestraServer.dll"), "--policy", allowAll];
    }
}
