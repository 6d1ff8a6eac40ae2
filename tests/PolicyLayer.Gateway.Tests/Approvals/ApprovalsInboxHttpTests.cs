using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PolicyLayer.Gateway.Tests.Approvals;

/// <summary>The approvals inbox over real HTTP: who may see it and answer, what it shows, and how answers are taken.</summary>
public sealed partial class ApprovalsInboxHttpTests
{
    [Test]
    public async Task Page_NotSignedIn_IsUnauthorized()
    {
        await using var host = await ApprovalsWebHost.StartAsync();
        using var anonymous = new HttpClient { BaseAddress = host.Address };

        (await anonymous.GetAsync(new Uri("/approvals", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await anonymous.GetAsync(new Uri("/approvals/records", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Test]
    public async Task Page_SignedInWithoutTheApproversPolicy_IsForbidden()
    {
        await using var host = await ApprovalsWebHost.StartAsync();
        using var agent = await host.SignInAsync("some-agent", role: "agent");

        (await agent.GetAsync(new Uri("/approvals", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await agent.GetAsync(new Uri("/approvals/records", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Test]
    public async Task Page_IsSelfContained_UnderAStrictContentSecurityPolicy()
    {
        await using var host = await ApprovalsWebHost.StartAsync();
        using var bob = await host.SignInAsync("bob");

        using var response = await bob.GetAsync(new Uri("/approvals", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        csp.Should().StartWith("default-src 'none'; script-src 'nonce-").And.Contain("frame-ancestors 'none'");
        html.Should().Contain("Signed in as <strong id=\"approver\">bob</strong>");
        SourceAttribute().IsMatch(html).Should().BeFalse("the page loads nothing from anywhere: no CDN, no external script or style");
        html.Should().NotContain("innerHTML", "records are rendered as text nodes only");
    }

    [Test]
    public async Task Records_CarryTheCompleteArguments_TheReason_AndTheCaller()
    {
        await using var host = await ApprovalsWebHost.StartAsync();
        using var bob = await host.SignInAsync("bob");
        var big = "<script>alert('x')</script>" + new string('y', 100_000);
        var (record, _) = await HoldAsync(host, big);

        using var json = JsonDocument.Parse(await bob.GetStringAsync(new Uri("/approvals/records", UriKind.Relative)));
        var shown = json.RootElement.GetProperty("records").EnumerateArray().Single();

        shown.GetProperty("id").GetString().Should().Be(record!.Id);
        shown.GetProperty("status").GetString().Should().Be("pending");
        shown.GetProperty("tool").GetString().Should().Be("create_refund");
        shown.GetProperty("reason").GetString().Should().Be("Refunds over 50.00 need a person.");
        shown.GetProperty("caller").GetProperty("user").GetString().Should().Be("ann");
        JsonDocument.Parse(shown.GetProperty("arguments").GetString()!).RootElement.GetProperty("reason").GetString().Should().Be(big, "the arguments are shown whole, never cut");
    }

    [Test]
    public async Task Answer_WithoutTheAntiforgeryToken_IsRefused_AndChangesNothing()
    {
        await using var host = await ApprovalsWebHost.StartAsync();
        using var bob = await host.SignInAsync("bob");
        var (record, _) = await HoldAsync(host);

        using var response = await bob.PostAsync(new Uri($"/approvals/{record!.Id}/approve", UriKind.Relative), new FormUrlEncodedContent([new("note", "ok")]));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("anti-forgery");
        (await host.Inbox.Store.GetAsync(record.Id))!.Status.Should().Be(ApprovalStatus.Pending);
    }

    [Test]
    public async Task Answer_WithTheToken_RecordsTheSignedInUserAndTheNote_AndASecondAnswerIsRefused()
    {
        await using var host = await ApprovalsWebHost.StartAsync();
        using var bob = await host.SignInAsync("bob");
        var (record, _) = await HoldAsync(host);
        var (field, token) = await TokenAsync(bob);

        using var first = await bob.PostAsync(new Uri($"/approvals/{record!.Id}/deny", UriKind.Relative), new FormUrlEncodedContent([new("note", "Not this one."), new(field, token)]));
        using var second = await bob.PostAsync(new Uri($"/approvals/{record.Id}/approve", UriKind.Relative), new FormUrlEncodedContent([new(field, token)]));

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        second.StatusCode.Should().Be(HttpStatusCode.Conflict);
        var stored = await host.Inbox.Store.GetAsync(record.Id);
        stored!.Status.Should().Be(ApprovalStatus.Denied);
        stored.DecidedBy.Should().Be("bob");
        stored.Note.Should().Be("Not this one.");
        stored.DecidedAt.Should().NotBeNull();
    }

    [Test]
    public async Task Answer_ByAnAgentWithAToken_IsForbidden()
    {
        await using var host = await ApprovalsWebHost.StartAsync();
        using var bob = await host.SignInAsync("bob");
        using var agent = await host.SignInAsync("agent", role: "agent");
        var (record, _) = await HoldAsync(host);

        using var response = await agent.PostAsync(new Uri($"/approvals/{record!.Id}/approve", UriKind.Relative), new FormUrlEncodedContent([new("note", "")]));

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await host.Inbox.Store.GetAsync(record.Id))!.Status.Should().Be(ApprovalStatus.Pending);
    }

    internal static ValueTask<(ApprovalRecord? Record, string? Problem)> HoldAsync(ApprovalsWebHost host, string reason = "duplicate charge")
    {
        var arguments = new Dictionary<string, JsonElement>
        {
            ["amount"] = JsonSerializer.SerializeToElement(7000),
            ["reason"] = JsonSerializer.SerializeToElement(reason),
        };
        var call = new ToolCall("create_refund", new CallerIdentity { UserId = "ann", GrantId = "grant-1", AgentId = "agent-1" }, arguments);
        var held = new PolicyDecision(PolicyOutcome.RequireApproval, "Refunds over 50.00 need a person.", "/tools/create_refund/require_approval_if/0", null);
        return host.Inbox.HoldAsync(call, held, CancellationToken.None);
    }

    private static async Task<(string Field, string Token)> TokenAsync(HttpClient client)
    {
        var html = await client.GetStringAsync(new Uri("/approvals", UriKind.Relative));
        var field = DataAttribute().Matches(html).Single(m => m.Groups[1].Value == "field").Groups[2].Value;
        var token = DataAttribute().Matches(html).Single(m => m.Groups[1].Value == "token").Groups[2].Value;
        return (WebUtility.HtmlDecode(field), WebUtility.HtmlDecode(token));
    }

    [GeneratedRegex("""data-(field|token)="([^"]*)" """)]
    private static partial Regex DataAttribute();

    [GeneratedRegex("""(src|href)\s*=""")]
    private static partial Regex SourceAttribute();
}
