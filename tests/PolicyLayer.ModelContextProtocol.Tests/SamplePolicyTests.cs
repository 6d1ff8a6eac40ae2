using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace PolicyLayer.ModelContextProtocol.Tests;

public sealed class SamplePolicyTests
{
    [Test]
    public async Task CallTool_ThirtyFirstLabelCallInAMinute_IsRefusedAsPolicyDenied()
    {
        await using var host = new McpTestHost(Policies.Kestra);
        await using var client = await host.ConnectAsync();

        for (var i = 1; i <= 30; i++)
        {
            var allowed = await client.LabelAsync(i);
            allowed.IsError.Should().NotBe(true, $"call {i} is within 30 per minute: {allowed.Text()}");
        }

        var refused = await client.LabelAsync(31);

        refused.IsError.Should().BeTrue();
        refused.Text().Should().StartWith("[POLICY DENIED]")
            .And.Contain("/tools/add_execution_labels/limits/0")
            .And.Contain("Retry after");
        host.Flows.Runs("add_execution_labels").Should().Be(30);
    }

    [Test]
    public async Task CallTool_AfterTheWindowSlides_IsAllowedAgain()
    {
        await using var host = new McpTestHost(Policies.Kestra);
        await using var client = await host.ConnectAsync();
        for (var i = 1; i <= 30; i++)
        {
            await client.LabelAsync(i);
        }

        host.Time.Advance(TimeSpan.FromSeconds(61));

        (await client.LabelAsync(31)).IsError.Should().NotBe(true);
    }

    [Test]
    public async Task CallTool_AnotherGrant_HasItsOwnBudget()
    {
        await using var hostA = new McpTestHost(Policies.Kestra);
        await using var hostB = new McpTestHost(Policies.Kestra, o => o.DefaultGrantId = "grant-b", store: hostA.Store, time: hostA.Time);
        await using var clientA = await hostA.ConnectAsync();
        await using var clientB = await hostB.ConnectAsync();
        for (var i = 1; i <= 30; i++)
        {
            await clientA.LabelAsync(i);
        }

        (await clientA.LabelAsync(31)).IsError.Should().BeTrue();
        var other = await clientB.LabelAsync(1);

        other.IsError.Should().NotBe(true, "grant-b has its own 30 per minute");
        hostA.Store.Used("add_execution_labels_rate", "grant-b").Should().Be(1);
    }

    [TestCase("delete_flow")]
    [TestCase("execute_flow")]
    [TestCase("list_flows")]
    public async Task CallTool_ToolTheDefaultDenies_IsRefusedAndItsBodyNeverRuns(string tool)
    {
        await using var host = new McpTestHost(Policies.Kestra);
        await using var client = await host.ConnectAsync();

        var result = await client.CallToolAsync(tool, new Dictionary<string, object?> { ["namespace"] = "company.team", ["id"] = "hello" });

        result.IsError.Should().BeTrue();
        result.Text().Should().StartWith("[POLICY DENIED]").And.Contain("(default)").And.Contain("Do not retry");
        host.Flows.Runs(tool).Should().Be(0);
    }

    [Test]
    public async Task CallTool_UnknownTool_IsRefusedByTheSdkAsBefore()
    {
        await using var host = new McpTestHost(Policies.Kestra);
        await using var client = await host.ConnectAsync();

        var act = async () => await client.CallToolAsync("no_such_tool");

        (await act.Should().ThrowAsync<McpProtocolException>()).Which.Message.Should().NotContain("POLICY DENIED");
    }

    [Test]
    public async Task ListTools_SamplePolicy_ShowsOnlyTheToolsItAllows()
    {
        await using var host = new McpTestHost(Policies.Kestra);
        await using var client = await host.ConnectAsync();

        var tools = await client.ListToolsAsync();

        tools.Select(t => t.Name).Should().BeEquivalentTo(["add_execution_labels"]);
    }

    [Test]
    public async Task ListTools_HiddenToolsAndOutrightDenials_AreAbsentAndRiskRulesUseEachToolsAnnotations()
    {
        const string policy = """
            {
              "version": "1",
              "default": "allow",
              "hide": ["create_flow"],
              "tools": { "delete_*": { "action": "deny", "reason": "People delete flows." } },
              "risk": { "execute": { "action": "deny" }, "destructive": { "action": "deny" } }
            }
            """;
        await using var host = new McpTestHost(policy);
        await using var client = await host.ConnectAsync();

        var tools = (await client.ListToolsAsync()).Select(t => t.Name).ToList();

        tools.Should().NotContain(["create_flow", "delete_flow"]);
        tools.Should().Contain(["list_flows", "get_flow"], "read-only tools are not denied by the risk rules");
        var hidden = await client.CallToolAsync("create_flow", new Dictionary<string, object?> { ["namespace"] = "a", ["id"] = "b", ["source"] = "c" });
        hidden.Text().Should().StartWith("[POLICY DENIED]").And.Contain("(hidden)");
    }

    [Test]
    public async Task ListTools_WithFilteringOff_ShowsEveryToolThePolicyDoesNotHide()
    {
        await using var host = new McpTestHost(Policies.Kestra, o => o.FilterToolsList = false);
        await using var client = await host.ConnectAsync();

        var tools = await client.ListToolsAsync();

        tools.Should().HaveCount(7, "the sample policy denies six of them by default but hides none");
    }

    private const string HideAndDeny = """
        {
          "version": "1",
          "default": "allow",
          "hide": ["create_*"],
          "tools": { "delete_flow": { "action": "deny", "reason": "People delete flows." } }
        }
        """;

    [TestCase(true, new[] { "list_flows", "get_flow", "execute_flow", "backfill_flow", "add_execution_labels" })]
    [TestCase(false, new[] { "list_flows", "get_flow", "execute_flow", "backfill_flow", "add_execution_labels", "delete_flow" })]
    public async Task ListTools_HiddenTools_AreAbsentWhateverFilterToolsListSays(bool filter, string[] expected)
    {
        await using var host = new McpTestHost(HideAndDeny, o => o.FilterToolsList = filter);
        await using var client = await host.ConnectAsync();

        var tools = (await client.ListToolsAsync()).Select(t => t.Name);

        tools.Should().BeEquivalentTo(expected, "hide removes create_flow from tools/list always; FilterToolsList only decides about delete_flow, which is denied");
    }

    [Test]
    public async Task ShadowMode_ListToolsShowsEveryTool_AndHiddenOrDeniedCallsRunAndAreRecordedAsShadowed()
    {
        await using var host = new McpTestHost(HideAndDeny);
        host.Evaluator.ShadowMode = true;
        await using var client = await host.ConnectAsync();

        var tools = (await client.ListToolsAsync()).Select(t => t.Name);
        var hidden = await client.CallToolAsync("delete_flow", new Dictionary<string, object?> { ["namespace"] = "company.team", ["id"] = "hello" });

        tools.Should().Contain(["create_flow", "delete_flow"], "shadow mode changes nothing the agent sees");
        hidden.IsError.Should().NotBe(true, hidden.Text());
        host.Flows.Runs("delete_flow").Should().Be(1);

        host.Evaluator.ShadowMode = false;
        (await client.ListToolsAsync()).Select(t => t.Name).Should().NotContain(["create_flow", "delete_flow"], "enforcement is back on");
    }

    [Test]
    public async Task ListTools_HideEverythingWithFilteringOff_ListsNothingAndCallsAreStillRefused()
    {
        await using var host = new McpTestHost("""{ "version": "1", "default": "allow", "hide": ["*"] }""", o => o.FilterToolsList = false);
        await using var client = await host.ConnectAsync();

        var tools = await client.ListToolsAsync();
        var call = await client.CallToolAsync("list_flows", new Dictionary<string, object?> { ["namespace"] = "company.team" });

        tools.Should().BeEmpty();
        call.Text().Should().StartWith("[POLICY DENIED]").And.Contain("(hidden)");
        host.Flows.Runs("list_flows").Should().Be(0);
    }
}
