using System.Diagnostics;
using System.Text.Json;
using PolicyLayer.TestUtils;

namespace PolicyLayer.ModelContextProtocol.Tests;

/// <summary>
/// The HttpServer sample as a real process on a loopback port, driven over Streamable HTTP with bearer tokens (that
/// the sample itself prints) by the official TypeScript SDK's client (tests/e2e-client/http-client.mjs).
/// </summary>
public sealed class HttpSampleEndToEndTests
{
    private static string Sample => RepositoryPaths.SampleProgram("HttpServer");

    [Test]
    [CancelAfter(180_000)]
    public async Task TypeScriptSdkClient_OverStreamableHttp_IsLimitedPerGrantAndAskedForApproval(CancellationToken cancellationToken)
    {
        await using var server = await SampleServer.StartAsync("StatefulForInitializeClients", cancellationToken);
        using var summary = await RunClientAsync(server.Endpoint, cancellationToken);
        var root = summary.RootElement;

        root.GetProperty("tools").EnumerateArray().Select(t => t.GetString()).Should().BeEquivalentTo(["list_orders", "get_order", "create_refund"], "delete_order is denied outright and left out");
        var lists = root.GetProperty("lists").EnumerateArray().ToList();
        lists.Take(5).Should().OnlyContain(l => !l.GetProperty("isError").GetBoolean());
        Text(lists[5]).Should().StartWith("[POLICY DENIED]").And.Contain("list_orders_per_grant").And.Contain("Retry after");

        Text(root.GetProperty("approvedRefund")).Should().StartWith("Refunded 7000 on o-1003");
        root.GetProperty("prompts").EnumerateArray().Should().ContainSingle().Which.GetString().Should().Contain("create_refund").And.Contain("7000");
        Text(root.GetProperty("bigRefund")).Should().StartWith("[POLICY DENIED]").And.Contain("Refunds over 100.00 are done by people.");
        Text(root.GetProperty("deleteOrder")).Should().StartWith("[POLICY DENIED]").And.Contain("Deleting is done by people");

        // bob holds the same grant: its 5 list calls were spent by alice; his own user budget and approvals are his.
        Text(root.GetProperty("bobList")).Should().StartWith("[POLICY DENIED]").And.Contain("list_orders_per_grant");
        Text(root.GetProperty("bobRefund")).Should().StartWith("[POLICY DENIED]").And.Contain("declined");
        Text(root.GetProperty("bobGet")).Should().Contain("refunded 7000");
        root.GetProperty("anonymousStatus").GetInt32().Should().Be(401);
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task TypeScriptSdkClient_OnAStatelessServer_IsRefusedApprovalWithTheTrueReason(CancellationToken cancellationToken)
    {
        // The TypeScript client declares elicitation, but speaks 2025-11-25: a stateless server can neither send it an
        // elicitation request nor answer it with an input request. The refusal says so, not that it lacks elicitation
        // (its capabilities went with an initialize that another request served), and not "(error)".
        await using var server = await SampleServer.StartAsync("Stateless", cancellationToken);
        using var summary = await RunClientAsync(server.Endpoint, cancellationToken);
        var root = summary.RootElement;

        Text(root.GetProperty("approvedRefund")).Should().StartWith("[POLICY DENIED]")
            .And.Contain("cannot send it a request on this transport (stateless HTTP)")
            .And.Contain("does not support multi-round-trip requests")
            .And.NotContain("did not declare")
            .And.NotContain("(error)");
        root.GetProperty("prompts").GetArrayLength().Should().Be(0);
        root.GetProperty("lists").EnumerateArray().Take(5).Should().OnlyContain(l => !l.GetProperty("isError").GetBoolean(), "user and grant scopes need no session");
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task InboxSignIn_RefusesAPostWithoutTheFormsAntiForgeryToken_AndSignsInFromItsOwnPage(CancellationToken cancellationToken)
    {
        // Another site's page could post its own approver token to /signin, so that the browser answers as that approver.
        await using var server = await SampleServer.StartAsync("StatefulForInitializeClients", cancellationToken, "--approvals", "inbox");
        var token = await PrintTokenAsync("carol", "grant-e2e", cancellationToken, "--role", "approver");
        var site = new Uri(server.Endpoint, "/");
        var cookies = new System.Net.CookieContainer();
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = site };

        using var forged = await browser.PostAsync("/signin", new FormUrlEncodedContent([new("token", token)]), cancellationToken);
        forged.StatusCode.Should().Be(System.Net.HttpStatusCode.BadRequest);
        (await forged.Content.ReadAsStringAsync(cancellationToken)).Should().Contain("anti-forgery token is missing or not valid");
        forged.Headers.Contains("Set-Cookie").Should().BeFalse("nothing is signed in");

        var page = await browser.GetStringAsync("/signin", cancellationToken);
        var hidden = System.Text.RegularExpressions.Regex.Match(page, """<input type="hidden" name="([^"]*)" value="([^"]*)">""");
        hidden.Success.Should().BeTrue("the form carries its anti-forgery field: " + page);
        using var signIn = await browser.PostAsync("/signin", new FormUrlEncodedContent(
            [new(System.Net.WebUtility.HtmlDecode(hidden.Groups[1].Value), System.Net.WebUtility.HtmlDecode(hidden.Groups[2].Value)), new("token", token)]), cancellationToken);
        signIn.StatusCode.Should().Be(System.Net.HttpStatusCode.Redirect);
        signIn.Headers.Location!.ToString().Should().Be("/approvals");
        using var inbox = await browser.GetAsync("/approvals", cancellationToken);
        inbox.StatusCode.Should().Be(System.Net.HttpStatusCode.OK, "the cookie of the sign-in opens the inbox");
    }

    private static async Task<JsonDocument> RunClientAsync(Uri endpoint, CancellationToken cancellationToken)
    {
        var alice = await PrintTokenAsync("alice", "grant-e2e", cancellationToken);
        var bob = await PrintTokenAsync("bob", "grant-e2e", cancellationToken);
        return await NodeClient.RunAsync("http-client.mjs", [endpoint.ToString(), alice, bob], cancellationToken);
    }

    private static string Text(JsonElement result) => result.GetProperty("text").GetString()!;

    private static async Task<string> PrintTokenAsync(string user, string grant, CancellationToken cancellationToken, params string[] more)
    {
        using var process = Process.Start(Dotnet([Sample, "--print-token", "--user", user, "--grant", grant, .. more]))!;
        var token = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        process.ExitCode.Should().Be(0);
        return token.Trim();
    }

    private static ProcessStartInfo Dotnet(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    /// <summary>The sample listening on a free loopback port; killed when disposed.</summary>
    private sealed class SampleServer : IAsyncDisposable
    {
        private readonly Process _process;

        private SampleServer(Process process, Uri endpoint)
        {
            _process = process;
            Endpoint = endpoint;
        }

        public Uri Endpoint { get; }

        public static async Task<SampleServer> StartAsync(string sessionMode, CancellationToken cancellationToken, params string[] more)
        {
            var process = Process.Start(Dotnet(
                [Sample, "--urls", "http://127.0.0.1:0", "--session-mode", sessionMode, "--policy", RepositoryPaths.SamplePolicy("http.policy.json"), .. more]))!;
            _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                while (await process.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
                {
                    if (line.StartsWith("MCP endpoint: ", StringComparison.Ordinal))
                    {
                        _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                        return new SampleServer(process, new Uri(line["MCP endpoint: ".Length..]));
                    }
                }
            }
            catch
            {
                process.Kill(entireProcessTree: true);
                process.Dispose();
                throw;
            }

            process.Dispose();
            throw new InvalidOperationException("The HttpServer sample exited before it listened.");
        }

        public async ValueTask DisposeAsync()
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}
