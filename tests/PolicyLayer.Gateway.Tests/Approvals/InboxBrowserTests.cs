using System.Text.Json;
using PolicyLayer.TestUtils;
using PolicyLayer.TestUtils.Gateway;

namespace PolicyLayer.Gateway.Tests.Approvals;

/// <summary>
/// The approvals inbox in a real browser (Debian's chromium, headless, driven by Playwright from tests/e2e-browser): an
/// agent's call through the gateway is held, a person answers it on the page, and the call completes or is refused.
/// Screenshots go to POLICYLAYER_SCREENSHOTS (docs/images for the README) or a temporary folder.
/// </summary>
[NonParallelizable]
public sealed class InboxBrowserTests
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(90);

    private static string Shots { get; } = Environment.GetEnvironmentVariable("POLICYLAYER_SCREENSHOTS") is { Length: > 0 } dir
        ? Path.GetFullPath(dir)
        : Directory.CreateTempSubdirectory("policylayer-inbox-").FullName;

    [OneTimeSetUp]
    public void RequireChromium()
    {
        var chromium = Environment.GetEnvironmentVariable("CHROMIUM") ?? "/usr/bin/chromium";
        NodeScript.Require(File.Exists(chromium), $"{chromium} is needed for the browser tests: apt-get install -y chromium (or set CHROMIUM).");
    }

    [Test]
    public async Task PersonApprovesTheHeldCallOnThePage_AndTheAgentsCallCompletes()
    {
        await using var host = await ApprovalsWebHost.StartAsync();
        using var proxy = new GatewayHarness(configure: o => o.ApprovalInbox = host.Inbox);
        await proxy.InitializeAsync();
        var id = await HoldAsync(proxy, host);

        using var page = await BrowserAsync("answer", host, id, "approve", "Checked with the customer.", Shots);
        var result = await AnswerAsync(proxy);

        result.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran approve_me");
        proxy.Child.CalledTools.Should().Equal("approve_me");
        page.RootElement.GetProperty("status").GetString().Should().MatchRegex("approved|used");
        page.RootElement.GetProperty("text").GetString().Should().Contain("Approved by").And.Contain("bob").And.Contain("Checked with the customer.");
    }

    [Test]
    public async Task PersonDeniesTheHeldCallOnThePage_AndTheAgentReadsWhoDeniedItAndWhy()
    {
        await using var host = await ApprovalsWebHost.StartAsync();
        using var proxy = new GatewayHarness(configure: o => o.ApprovalInbox = host.Inbox);
        await proxy.InitializeAsync();
        var id = await HoldAsync(proxy, host);

        using var page = await BrowserAsync("answer", host, id, "deny", "Not on a Friday.", Shots);
        var result = await AnswerAsync(proxy);

        result.DeniedText().Should().Contain("bob declined the call: Not on a Friday.");
        proxy.Child.CalledTools.Should().BeEmpty();
        page.RootElement.GetProperty("status").GetString().Should().Be("denied");
    }

    [Test]
    public async Task NobodyAnswers_ThePageShowsTheCallExpired_AndTheAgentsCallIsRefused()
    {
        await using var host = await ApprovalsWebHost.StartAsync(inbox: o => o.Timeout = TimeSpan.FromSeconds(15));
        using var proxy = new GatewayHarness(configure: o => o.ApprovalInbox = host.Inbox);
        await proxy.InitializeAsync();
        var id = await HoldAsync(proxy, host);

        using var page = await BrowserAsync("expire", host, id, Shots);
        var result = await AnswerAsync(proxy);

        page.RootElement.GetProperty("status").GetString().Should().Be("expired");
        result.DeniedText().Should().Contain("Nobody answered in the approvals inbox within 15 s.");
        proxy.Child.CalledTools.Should().BeEmpty();
    }

    [Test]
    public async Task ASecondApprovalOfTheSameCall_FromAStaleTab_IsRefusedOnThePage_AndTheToolRunsOnce()
    {
        // The pages refresh slowly, so that the second tab still shows the call as pending when it is approved again.
        await using var host = await ApprovalsWebHost.StartAsync(refreshMilliseconds: 60_000);
        using var proxy = new GatewayHarness(configure: o => o.ApprovalInbox = host.Inbox);
        await proxy.InitializeAsync();
        var id = await HoldAsync(proxy, host);

        using var page = await BrowserAsync("twice", host, id, Shots);
        var result = await AnswerAsync(proxy);

        page.RootElement.GetProperty("message").GetString().Should().Contain("answered already");
        result.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran approve_me");
        proxy.Child.CalledTools.Should().Equal("approve_me");
    }

    // The agent calls a tool that needs approval, asking for progress: the call is held in the inbox.
    private static async Task<string> HoldAsync(GatewayHarness proxy, ApprovalsWebHost host)
    {
        proxy.Send("""{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"approve_me","arguments":{"path":"/srv/reports/q3.csv","reason":"<b>quarterly</b> export"},"_meta":{"progressToken":"p1"}}}""");
        var progress = await proxy.ReceiveAsync();
        progress.GetProperty("method").GetString().Should().Be("notifications/progress");
        return (await host.Inbox.ListAsync()).Single().Id;
    }

    // The answer to the agent's call, past any progress notifications sent meanwhile.
    private static async Task<JsonElement> AnswerAsync(GatewayHarness proxy)
    {
        while (true)
        {
            var message = JsonDocument.Parse(await proxy.ReceiveLineAsync(Slow)).RootElement;
            if (message.TryGetProperty("id", out _))
            {
                return message;
            }
        }
    }

    private static Task<JsonDocument> BrowserAsync(string command, ApprovalsWebHost host, string id, params string[] rest) =>
        NodeScript.RunAsync("e2e-browser", "inbox.mjs", [command, host.Address.AbsoluteUri.TrimEnd('/'), id, .. rest], Slow);
}
