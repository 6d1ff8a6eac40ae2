using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer.Mcp;

namespace PolicyLayer.ModelContextProtocol.Tests.Hosts;

/// <summary>
/// What the middleware does with the server options that Streamable HTTP builds per request (stateless) or per session
/// (<c>ConfigureSessionOptions</c>): it keeps nothing of a stateless request, copies and lists nothing per request, and
/// announces a change of the tool list to every session that listed the tools.
/// </summary>
public sealed class ToolListAnnouncementHttpTests
{
    private const string DeleteHidden = """{ "version": "1", "default": "allow", "hide": ["delete_flow"] }""";

    [Test]
    [CancelAfter(120_000)]
    public async Task StatelessHttp_ManyRequests_KeepNoRequestsToolsOrServer()
    {
        var seen = new List<(WeakReference Server, WeakReference Tools, Type? ToolsType)>();
        var probe = McpServerTool.Create(
            (McpServer server) =>
            {
                lock (seen)
                {
                    seen.Add((new WeakReference(server), new WeakReference(server.ServerOptions.ToolCollection), server.ServerOptions.ToolCollection?.GetType()));
                }

                return "ok";
            },
            new McpServerToolCreateOptions { Name = "probe" });
        await using var host = await HttpMcpTestHost.StartAsync(
            HttpServerSessionMode.Stateless, """{ "version": "1", "default": "allow" }""", tools: mcp => mcp.WithTools([probe]));
        var client = await host.ConnectAsync("alice", "grant-a");

        for (var i = 0; i < 50; i++)
        {
            (await client.ListToolsAsync()).Select(t => t.Name).Should().Equal("probe");
            (await client.CallToolAsync("probe")).IsError.Should().NotBe(true);
        }

        lock (seen)
        {
            seen.Should().HaveCount(50);
            seen.Select(s => s.ToolsType).Should().AllBeEquivalentTo(typeof(AnnouncingToolCollection), "the SDK filled the collection PolicyLayer put in its place");
        }

        host.Services.GetRequiredService<ToolListAnnouncer>().TrackedCount.Should().Be(0, "a request without a session has no session to announce to");
        await CollectUntilAsync(() => seen.All(s => !s.Server.IsAlive && !s.Tools.IsAlive));
        seen.Where(s => s.Tools.IsAlive).Should().BeEmpty("no request's tool collection outlives its request");
        seen.Where(s => s.Server.IsAlive).Should().BeEmpty("no request's server outlives its request");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task StatelessHttp_ServerOptionsBuiltPerRequest_HoldTheToolsWithoutACopy()
    {
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateless, DeleteHidden);
        var factory = host.Services.GetRequiredService<IOptionsFactory<McpServerOptions>>();

        var first = factory.Create(Options.DefaultName);
        var second = factory.Create(Options.DefaultName);

        first.ToolCollection.Should().BeOfType<AnnouncingToolCollection>();
        second.ToolCollection.Should().BeOfType<AnnouncingToolCollection>().And.NotBeSameAs(first.ToolCollection, "each build has its own, as without PolicyLayer");
        first.ToolCollection!.PrimitiveNames.Should().Contain(["list_flows", "delete_flow"]);
        ((AnnouncingToolCollection)first.ToolCollection).IsTracked.Should().BeFalse("building options lists nothing against the policy");
        host.Services.GetRequiredService<ToolListAnnouncer>().TrackedCount.Should().Be(0);
    }

    [TestCase(false, TestName = "StatefulHttp_ReloadThatChangesTheToolList_IsAnnouncedOnEverySession")]
    [TestCase(true, TestName = "StatefulHttp_ReloadThatChangesTheToolList_IsAnnouncedOnEverySession_WithOptionsPerSession")]
    [CancelAfter(60_000)]
    public async Task StatefulHttp_ReloadThatChangesTheToolList_IsAnnouncedOnEverySession(bool optionsPerSession)
    {
        await using var host = await HttpMcpTestHost.StartAsync(
            HttpServerSessionMode.Stateful,
            DeleteHidden,
            o => o.ShadowMode = true,
            beforePolicyLayer: optionsPerSession
                ? mcp => mcp.Services.Configure<HttpServerTransportOptions>(o => o.ConfigureSessionOptions = static (_, _, _) => Task.CompletedTask)
                : null);
        var alice = await host.ConnectAsync("alice", "grant-a", NotifiedClient);
        var bob = await host.ConnectAsync("bob", "grant-a", NotifiedClient);
        var aliceAnnounced = Announced(alice);
        var bobAnnounced = Announced(bob);
        (await alice.ListToolsAsync()).Select(t => t.Name).Should().Contain("delete_flow");
        (await bob.ListToolsAsync()).Select(t => t.Name).Should().Contain("delete_flow");
        host.Services.GetRequiredService<ToolListAnnouncer>().TrackedCount.Should().Be(
            optionsPerSession ? 2 : 1, "each session's server has the tool collection its options were built with");

        host.Evaluator.ShadowMode = false;

        await aliceAnnounced.WaitAsync(TimeSpan.FromSeconds(20));
        await bobAnnounced.WaitAsync(TimeSpan.FromSeconds(20));
        (await alice.ListToolsAsync()).Select(t => t.Name).Should().NotContain("delete_flow");
        (await bob.ListToolsAsync()).Select(t => t.Name).Should().NotContain("delete_flow");
    }

    // Clients of 2025-11-25 and earlier get list changes as notifications on their session.
    private static McpClientOptions NotifiedClient => new() { ProtocolVersion = "2025-11-25", ClientInfo = new Implementation { Name = "test-agent", Version = "1" } };

    private static Task Announced(McpClient client)
    {
        var announced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.RegisterNotificationHandler(NotificationMethods.ToolListChangedNotification, (_, _) =>
        {
            announced.TrySetResult();
            return ValueTask.CompletedTask;
        });
        return announced.Task;
    }

    // A request's objects can still be on their way out (the response completes before the server is disposed).
    private static async Task CollectUntilAsync(Func<bool> done)
    {
        for (var i = 0; i < 50 && !done(); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            await Task.Delay(100);
        }
    }
}
