using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace PolicyLayer.Cli.Tests.Proxy;

/// <summary>
/// <c>policylayer proxy --approvals PATH</c> (beside <c>--listen</c>) and <c>--approvals-listen URL</c> (the stdio front),
/// as processes: a call the policy holds waits in the approvals inbox, runs when a person approves it through the inbox's
/// HTTP endpoints, and is refused when they deny it; only a JWT with the role <c>approver</c> opens the inbox.
/// </summary>
[NonParallelizable]
[Category(Policylayer.ProcessLevel)]
public sealed partial class HttpProxyApprovalsTests
{
    private const string Policy = """
        { "version": "1", "default": "allow",
          "tools": { "refund": { "action": "require_approval", "reason": "Refunds need a person." } } }
        """;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private string _work = null!;
    private string _policy = null!;

    [SetUp]
    public async Task CreateWorkspace()
    {
        _work = Directory.CreateTempSubdirectory("policylayer-http-approvals-").FullName;
        _policy = Path.Combine(_work, "policy.json");
        await File.WriteAllTextAsync(_policy, Policy);
    }

    [TearDown]
    public void DeleteWorkspace() => Directory.Delete(_work, recursive: true);

    [Test]
    public async Task Listen_HeldCall_RunsWhenApprovedInTheInbox_AndIsRefusedWhenDenied()
    {
        await using var proxy = await StartWithInboxAsync();
        var inbox = await proxy.Inbox;
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = await proxy.Endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + ListeningProxy.Token("agent-user", grant: "team-a") },
        });
        await using var agent = await McpClient.CreateAsync(transport);

        inbox.AbsolutePath.Should().Be("/approvals");
        inbox.Port.Should().Be((await proxy.Endpoint).Port, "the inbox is served by the gateway's own host");
        await ApproveThenDenyAsync(agent, inbox);
    }

    [Test]
    public async Task StdioFront_HeldCall_RunsWhenApprovedInTheInboxAtApprovalsListen_AndIsRefusedWhenDenied()
    {
        await using var proxy = await ListeningProxy.StartAsync(
            ["--approvals-listen", "http://127.0.0.1:0/approvals", "--policy", _policy, "--grant", "team-a", .. ListeningProxy.JwtArguments, .. ListeningProxy.ContractServer]);
        var inbox = await proxy.Inbox;
        await using var agent = await McpClient.CreateAsync(new StreamClientTransport(proxy.Process.StandardInput.BaseStream, proxy.Process.StandardOutput.BaseStream));

        inbox.AbsolutePath.Should().Be("/approvals");
        await ApproveThenDenyAsync(agent, inbox);
    }

    [Test]
    public async Task Inbox_IsClosedToAgentsAndToNoCredential_AndABrowserIsSentToSignIn()
    {
        await using var proxy = await StartWithInboxAsync();
        var inbox = await proxy.Inbox;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });

        using var anonymous = await http.GetAsync(new Uri(inbox + "/records"));
        using var agentRequest = new HttpRequestMessage(HttpMethod.Get, new Uri(inbox + "/records"));
        agentRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ListeningProxy.Token("agent-user", grant: "team-a"));
        using var agent = await http.SendAsync(agentRequest);
        using var browserRequest = new HttpRequestMessage(HttpMethod.Get, inbox);
        browserRequest.Headers.Accept.ParseAdd("text/html");
        using var browser = await http.SendAsync(browserRequest);

        anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        agent.StatusCode.Should().Be(HttpStatusCode.Forbidden, "an agent's token does not make it an approver");
        browser.StatusCode.Should().Be(HttpStatusCode.Redirect);
        browser.Headers.Location!.ToString().Should().Be("/approvals/signin");
    }

    [Test]
    public async Task SignIn_KeepsTheApproversTokenInACookieForTheInboxOnly()
    {
        await using var proxy = await StartWithInboxAsync();
        var inbox = await proxy.Inbox;
        var cookies = new CookieContainer();
        using var http = new HttpClient(new HttpClientHandler { CookieContainer = cookies });

        using var signIn = await SignInAsync(http, inbox, ListeningProxy.Token("alice", role: "approver"));
        var page = await signIn.Content.ReadAsStringAsync();

        signIn.StatusCode.Should().Be(HttpStatusCode.OK, "the sign-in redirects to the inbox page, which the cookie opens");
        signIn.RequestMessage!.RequestUri!.AbsolutePath.Should().Be("/approvals");
        page.Should().Contain("alice");
        var cookie = cookies.GetAllCookies().Single(c => c.Name == "policylayer_approver");
        cookie.HttpOnly.Should().BeTrue();
        cookie.Path.Should().Be("/approvals", "the cookie is never sent to the MCP endpoint");
    }

    [Test]
    public async Task SignIn_PostedWithoutTheFormsAntiForgeryToken_IsRefused_AndKeepsNoToken()
    {
        // What another site's page could do: post its own token to the sign-in, so that the browser acts as the site's approver.
        await using var proxy = await StartWithInboxAsync();
        var inbox = await proxy.Inbox;
        var cookies = new CookieContainer();
        using var http = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false });

        using var forged = await http.PostAsync(new Uri(inbox + "/signin"), new FormUrlEncodedContent([new("token", ListeningProxy.Token("mallory", role: "approver"))]));
        var message = await forged.Content.ReadAsStringAsync();

        forged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        message.Should().Contain("anti-forgery token is missing or not valid");
        cookies.GetAllCookies().Should().NotContain(c => c.Name == "policylayer_approver");

        // The same browser signing in from the page itself is let in.
        using var signIn = await SignInAsync(http, inbox, ListeningProxy.Token("alice", role: "approver"));
        signIn.StatusCode.Should().Be(HttpStatusCode.Redirect);
        cookies.GetAllCookies().Should().ContainSingle(c => c.Name == "policylayer_approver");
    }

    [TestCase("--approvals /approvals -- cat", "--approvals needs --listen; over stdio serve the inbox with --approvals-listen URL.")]
    [TestCase("--listen http://127.0.0.1:0/mcp --grant g --approvals /approvals -- cat", "the approvals inbox needs --jwt-signing-key or --jwt-authority")]
    [TestCase("--listen http://127.0.0.1:0/mcp --approvals /mcp JWT -- cat", "--approvals must be a path such as /approvals, other than the --listen path; got '/mcp'.")]
    [TestCase("--listen http://127.0.0.1:0/mcp --approvals-listen http://127.0.0.1:0/approvals JWT -- cat", "--approvals-listen is for the stdio front")]
    [TestCase("--approvals-listen https://127.0.0.1:0/approvals JWT -- cat", "--approvals-listen must be an http URL with a path")]
    [TestCase("JWT -- cat", "--jwt-* need --listen (or --approvals-listen")]
    public async Task BadApprovalsOptions_AreAUsageErrorThatSaysWhy(string options, string message)
    {
        string[] arguments = [.. options.Split(' ').SelectMany(o => o == "JWT" ? ListeningProxy.JwtArguments : [o])];

        var result = await Policylayer.RunAsync(["proxy", "--policy", _policy, .. arguments]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Err.Should().StartWith("policylayer proxy: " + message);
    }

    /// <summary>The HTTP front with JWT callers and the approvals inbox at <c>/approvals</c> of its own host, in front of the contract server.</summary>
    private Task<ListeningProxy> StartWithInboxAsync() => ListeningProxy.StartAsync(
        ["--listen", "http://127.0.0.1:0/mcp", "--policy", _policy, "--approvals", "/approvals", .. ListeningProxy.JwtArguments, .. ListeningProxy.ContractServer]);

    /// <summary>One held call approved in the inbox (it runs), one denied (refused with the gate's refusal and the note).</summary>
    private static async Task ApproveThenDenyAsync(McpClient agent, Uri inbox)
    {
        var cookies = new CookieContainer();
        using var approver = new HttpClient(new HttpClientHandler { CookieContainer = cookies });
        approver.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ListeningProxy.Token("alice", role: "approver"));

        // A progress handler makes the client send a progressToken: the held call waits for the person (hold mode Auto).
        var approved = agent.CallToolAsync("refund", new Dictionary<string, object?> { ["amount"] = 70 }, new Progress<ProgressNotificationValue>()).AsTask();
        var first = await PendingAsync(approver, inbox, "refund", "70");
        approved.IsCompleted.Should().BeFalse("the call waits for a person");
        (await AnswerAsync(approver, inbox, first, "approve", "fine")).Should().Be(HttpStatusCode.OK);
        var result = await approved.WaitAsync(Patience);

        result.IsError.Should().NotBe(true);
        ((TextContentBlock)result.Content[0]).Text.Should().Be("refunded 70");

        var denied = agent.CallToolAsync("refund", new Dictionary<string, object?> { ["amount"] = 80 }, new Progress<ProgressNotificationValue>()).AsTask();
        var second = await PendingAsync(approver, inbox, "refund", "80");
        (await AnswerAsync(approver, inbox, second, "deny", "Not this one.")).Should().Be(HttpStatusCode.OK);
        var refusal = await denied.WaitAsync(Patience);

        refusal.IsError.Should().BeTrue();
        ((TextContentBlock)refusal.Content[0]).Text.Should().Contain("Not this one.");
        refusal.Meta!["policylayer/decision"]!["kind"]!.GetValue<string>().Should().Be("approval_declined");
    }

    /// <summary>Waits until the inbox lists a pending record of <paramref name="tool"/> whose arguments hold <paramref name="amount"/>; its id.</summary>
    private static async Task<string> PendingAsync(HttpClient approver, Uri inbox, string tool, string amount)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            using var records = JsonDocument.Parse(await approver.GetStringAsync(new Uri(inbox + "/records"), timeout.Token));
            var pending = records.RootElement.GetProperty("records").EnumerateArray().FirstOrDefault(r =>
                r.GetProperty("status").GetString() == "pending" && r.GetProperty("tool").GetString() == tool
                && r.GetProperty("arguments").GetString()!.Contains(amount, StringComparison.Ordinal));
            if (pending.ValueKind == JsonValueKind.Object)
            {
                return pending.GetProperty("id").GetString()!;
            }

            await Task.Delay(100, timeout.Token);
        }
    }

    /// <summary>Answers through the inbox's own endpoint, with the anti-forgery token of its page, as the page does.</summary>
    private static async Task<HttpStatusCode> AnswerAsync(HttpClient approver, Uri inbox, string id, string answer, string note)
    {
        var html = await approver.GetStringAsync(inbox);
        var field = WebUtility.HtmlDecode(DataAttribute().Matches(html).Single(m => m.Groups[1].Value == "field").Groups[2].Value);
        var token = WebUtility.HtmlDecode(DataAttribute().Matches(html).Single(m => m.Groups[1].Value == "token").Groups[2].Value);
        using var response = await approver.PostAsync(new Uri($"{inbox}/{id}/{answer}"), new FormUrlEncodedContent([new("note", note), new(field, token)]));
        return response.StatusCode;
    }

    /// <summary>Signs in as a browser does: opens the sign-in page, then posts its form with the page's anti-forgery field.</summary>
    private static async Task<HttpResponseMessage> SignInAsync(HttpClient browser, Uri inbox, string token)
    {
        var html = await browser.GetStringAsync(new Uri(inbox + "/signin"));
        var hidden = HiddenField().Match(html);
        hidden.Success.Should().BeTrue("the sign-in form carries an anti-forgery field: " + html);
        return await browser.PostAsync(new Uri(inbox + "/signin"), new FormUrlEncodedContent(
            [new(WebUtility.HtmlDecode(hidden.Groups[1].Value), WebUtility.HtmlDecode(hidden.Groups[2].Value)), new("token", token)]));
    }

    [GeneratedRegex("""<input type="hidden" name="([^"]*)" value="([^"]*)">""")]
    private static partial Regex HiddenField();

    [GeneratedRegex("""data-(field|token)="([^"]*)" """)]
    private static partial Regex DataAttribute();
}
