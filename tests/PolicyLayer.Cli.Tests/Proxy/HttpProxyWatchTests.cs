using System.Net.Http.Headers;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace PolicyLayer.Cli.Tests.Proxy;

/// <summary>
/// <c>policylayer proxy --listen --watch</c>, as a process, driven by the official C# SDK's HTTP client: a reload reaches
/// the sessions that are open (<c>notifications/tools/list_changed</c> on their GET stream, and the next call decided by
/// the new version), and a grant's own policy file from the grants file is watched too, reaching only that grant's sessions.
/// </summary>
[NonParallelizable]
[Category(Policylayer.ProcessLevel)]
public sealed class HttpProxyWatchTests
{
    private const string Hidden = """{ "version": "1", "default": "allow", "tools": { "secret_tool": { "action": "deny", "reason": "Not yet." } } }""";

    private const string Shown = """{ "version": "1", "default": "allow" }""";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private string _work = null!;

    [SetUp]
    public void CreateWorkspace() => _work = Directory.CreateTempSubdirectory("policylayer-http-watch-").FullName;

    [TearDown]
    public void DeleteWorkspace() => Directory.Delete(_work, recursive: true);

    [Test]
    public async Task Reload_ReachesOpenSessions_WithListChanged_AndDecidesTheNextCall_AndAGrantsOwnPolicyIsWatchedToo()
    {
        var policy = Path.Combine(_work, "policy.json");
        var grantPolicy = Path.Combine(_work, "team-b.policy.json");
        var grants = Path.Combine(_work, "grants.json");
        await File.WriteAllTextAsync(policy, Hidden);
        await File.WriteAllTextAsync(grantPolicy, Hidden);
        var token = (await Policylayer.RunAsync("grants", "add", "--file", grants, "--grant", "team-b", "--policy", "team-b.policy.json")).Out.Trim();
        await using var proxy = await ListeningProxy.StartAsync(
            ["--listen", "http://127.0.0.1:0/mcp", "--policy", policy, "--grant", "local", "--grants", grants, "--watch", "--watch-interval", "0.2", .. ListeningProxy.ContractServer]);
        await using var local = await Session.ConnectAsync(await proxy.Endpoint, bearer: null);
        await using var teamB = await Session.ConnectAsync(await proxy.Endpoint, bearer: token);
        (await local.ToolsAsync()).Should().NotContain("secret_tool");
        (await teamB.ToolsAsync()).Should().NotContain("secret_tool");
        (await local.CallAsync("secret_tool")).IsError.Should().BeTrue("the first version denies it");

        // The gateway's policy: its sessions are told and decide by the new version; the grant with a policy of its own is not.
        await File.WriteAllTextAsync(policy, Shown);
        await local.ListChanged.WaitAsync(Patience);
        (await local.ToolsAsync()).Should().Contain("secret_tool");
        var allowed = await local.CallAsync("secret_tool");
        allowed.IsError.Should().NotBe(true);
        ((TextContentBlock)allowed.Content[0]).Text.Should().Be("secret");
        (await teamB.CallAsync("secret_tool")).IsError.Should().BeTrue("team-b's own policy still denies it");

        // The grant's own policy file.
        await File.WriteAllTextAsync(grantPolicy, Shown);
        await teamB.ListChanged.WaitAsync(Patience);
        (await teamB.ToolsAsync()).Should().Contain("secret_tool");
        ((TextContentBlock)(await teamB.CallAsync("secret_tool")).Content[0]).Text.Should().Be("secret");
        local.Notifications.Should().Be(1, "the grant's reload is not the gateway's: its sessions are not told");
        teamB.Notifications.Should().Be(1);
        proxy.Stderr.Should().Contain($"Policy file {grantPolicy} reloaded");
    }

    /// <summary>One client session through the proxy, counting the <c>notifications/tools/list_changed</c> it receives.</summary>
    private sealed class Session : IAsyncDisposable
    {
        private readonly TaskCompletionSource _listChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private McpClient _client = null!;
        private IAsyncDisposable _handler = null!;
        private int _notifications;

        public Task ListChanged => _listChanged.Task;

        public int Notifications => Volatile.Read(ref _notifications);

        public static async Task<Session> ConnectAsync(Uri endpoint, string? bearer)
        {
            var session = new Session();
            var headers = new Dictionary<string, string>();
            if (bearer is not null)
            {
                headers["Authorization"] = new AuthenticationHeaderValue("Bearer", bearer).ToString();
            }

            var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = endpoint, TransportMode = HttpTransportMode.StreamableHttp, AdditionalHeaders = headers });
            session._client = await McpClient.CreateAsync(transport, new McpClientOptions { ClientInfo = new Implementation { Name = "watch-test", Version = "1" } });
            session._handler = session._client.RegisterNotificationHandler(NotificationMethods.ToolListChangedNotification, (_, _) =>
            {
                Interlocked.Increment(ref session._notifications);
                session._listChanged.TrySetResult();
                return ValueTask.CompletedTask;
            });
            return session;
        }

        public async Task<List<string>> ToolsAsync() => [.. (await _client.ListToolsAsync()).Select(t => t.Name)];

        public Task<CallToolResult> CallAsync(string tool) => _client.CallToolAsync(tool).AsTask();

        public async ValueTask DisposeAsync()
        {
            await _handler.DisposeAsync();
            await _client.DisposeAsync();
        }
    }
}
