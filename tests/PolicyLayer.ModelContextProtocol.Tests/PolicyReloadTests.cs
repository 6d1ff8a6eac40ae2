using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer.Mcp;

namespace PolicyLayer.ModelContextProtocol.Tests;

/// <summary>
/// <c>WithPolicyLayer</c>'s reload and modes: the watched policy file and shadow mode, set on the middleware's own
/// options, reach the one snapshot the evaluator decides under; a reload that changes what tools/list shows is
/// announced to the client with <c>notifications/tools/list_changed</c>. The watcher polls on the host's fake clock.
/// </summary>
public sealed class PolicyReloadTests
{
    private const string AllAllowed = """{ "version": "1", "default": "allow" }""";

    private const string LimitAdded = """
        { "version": "1", "default": "allow", "tools": { "get_flow": { "limits": [ { "counter": "gets", "window": "minute", "max": 1 } ] } } }
        """;

    private const string DeleteHidden = """{ "version": "1", "default": "allow", "hide": ["delete_flow"] }""";

    private string _work = null!;
    private string _policy = null!;

    [SetUp]
    public void CreatePolicyFile()
    {
        _work = Directory.CreateTempSubdirectory("policylayer-mcp-reload-").FullName;
        _policy = Path.Combine(_work, "policy.json");
        File.WriteAllText(_policy, AllAllowed);
    }

    [TearDown]
    public void DeletePolicyFile() => Directory.Delete(_work, recursive: true);

    [Test]
    [CancelAfter(60_000)]
    public async Task Reload_ThatChangesTheToolList_SendsToolsListChanged_OnlyThen()
    {
        await using var host = new McpTestHost(AllAllowed, Watching);
        await using var client = await host.ConnectAsync(NotifiedClient);
        var notifications = 0;
        var announced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var handler = client.RegisterNotificationHandler(NotificationMethods.ToolListChangedNotification, (_, _) =>
        {
            Interlocked.Increment(ref notifications);
            announced.TrySetResult();
            return ValueTask.CompletedTask;
        });
        (await ListAsync(client)).Should().Contain("delete_flow");

        // A reload that leaves the list as it was is not announced ...
        await ReloadAsync(host, LimitAdded);
        host.Evaluator.Policy.Revision.Should().Be(PolicyDocument.Parse(LimitAdded).Revision);

        // ... one that hides a tool is.
        await ReloadAsync(host, DeleteHidden);
        await announced.Task.WaitAsync(TimeSpan.FromSeconds(20));

        (await ListAsync(client)).Should().NotContain("delete_flow").And.Contain("list_flows");
        notifications.Should().Be(1, "only the second reload changed what tools/list shows");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Reload_PutsTheNewVersionInForceForTheNextCall()
    {
        await using var host = new McpTestHost(AllAllowed, Watching);
        await using var client = await host.ConnectAsync();
        (await client.CallToolAsync("get_flow", Hello)).IsError.Should().NotBe(true);

        await ReloadAsync(host, LimitAdded);
        var first = await client.CallToolAsync("get_flow", Hello);
        var second = await client.CallToolAsync("get_flow", Hello);

        first.IsError.Should().NotBe(true);
        second.Text().Should().StartWith("[POLICY DENIED]").And.Contain("/tools/get_flow/limits/0");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ShadowMode_SetOnTheMiddlewaresOptions_RefusesNothingAndListsEverything()
    {
        await using var host = new McpTestHost(DeleteHidden.Replace("\"allow\"", "\"deny\"", StringComparison.Ordinal), o => o.ShadowMode = true);
        await using var client = await host.ConnectAsync();

        var call = await client.CallToolAsync("list_flows", new Dictionary<string, object?> { ["namespace"] = "company.team" });

        call.IsError.Should().NotBe(true, call.Text());
        (await ListAsync(client)).Should().Contain("delete_flow");
        host.Evaluator.ShadowMode.Should().BeTrue();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ShadowModeSwitchedOff_AnnouncesTheToolsItNowHides()
    {
        await using var host = new McpTestHost(DeleteHidden, o => o.ShadowMode = true);
        await ShadowModeSwitchedOff_IsAnnouncedAsync(host);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ShadowModeSwitchedOff_OnAToolCollectionTheHostMadeItself_IsAnnouncedToo()
    {
        await using var host = new McpTestHost(DeleteHidden, o => o.ShadowMode = true, beforePolicyLayer: b => b.Services.Configure<McpServerOptions>(o =>
        {
            var own = new McpServerPrimitiveCollection<McpServerTool>();
            foreach (var tool in o.ToolCollection!)
            {
                own.Add(tool);
            }

            o.ToolCollection = own;
        }));
        await ShadowModeSwitchedOff_IsAnnouncedAsync(host);
    }

    [Test]
    public void ServerWithoutTools_HasNoToolCollection_AsWithoutPolicyLayer()
    {
        var services = new ServiceCollection();
        services.AddMcpServer().WithPolicyLayer(o => o.Policy = PolicyDocument.Parse(AllAllowed));
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<McpServerOptions>>().Value.ToolCollection.Should().BeNull();
    }

    // Clients of 2025-11-25 and earlier get list changes as notifications on the session (2026-07-28 ones listen for them
    // with subscriptions/listen, which the SDK serves from the same change of the tool collection).
    private static McpClientOptions NotifiedClient => new() { ProtocolVersion = "2025-11-25", ClientInfo = new Implementation { Name = "test-agent", Version = "1" } };

    private static Dictionary<string, object?> Hello => new() { ["namespace"] = "company.team", ["id"] = "hello" };

    private void Watching(PolicyLayerMcpOptions options)
    {
        options.Policy = null;
        options.PolicyPath = _policy;
        options.WatchPolicyFile = true;
    }

    private static async Task ShadowModeSwitchedOff_IsAnnouncedAsync(McpTestHost host)
    {
        await using var client = await host.ConnectAsync(NotifiedClient);
        var announced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var handler = client.RegisterNotificationHandler(NotificationMethods.ToolListChangedNotification, (_, _) =>
        {
            announced.TrySetResult();
            return ValueTask.CompletedTask;
        });
        (await ListAsync(client)).Should().Contain("delete_flow");

        host.Evaluator.ShadowMode = false;
        await announced.Task.WaitAsync(TimeSpan.FromSeconds(20));

        (await ListAsync(client)).Should().NotContain("delete_flow").And.Contain("list_flows");
    }

    private static async Task<List<string>> ListAsync(McpClient client) => [.. (await client.ListToolsAsync()).Select(t => t.Name)];

    /// <summary>Writes the file and polls until the watcher put it in force (a change is read once it held still for one poll).</summary>
    private async Task ReloadAsync(McpTestHost host, string policy)
    {
        await File.WriteAllTextAsync(_policy, policy);
        var revision = PolicyDocument.Parse(policy).Revision;
        for (var i = 0; i < 20 && host.Evaluator.Policy.Revision != revision; i++)
        {
            host.Time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50);
        }

        host.Evaluator.Policy.Revision.Should().Be(revision, "the watcher puts a valid new version in force");
    }
}
