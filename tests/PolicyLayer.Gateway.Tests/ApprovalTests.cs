using System.Text.Json;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests;

public class ApprovalTests
{
    [Test]
    public async Task Accepted_ForwardsTheCallAndTheChildNeverSeesTheApprovalExchange()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync(elicitation: true);

        proxy.Send(Call("\"c1\"", "approve_me", """{"path":"/tmp/x"}"""));
        var ask = await proxy.ReceiveAsync();
        var askId = ask.GetProperty("id").GetRawText();
        proxy.Send(Answer(askId, """{"action":"accept","content":{"approve":true}}"""));
        var result = await proxy.ReceiveAsync();

        ask.GetProperty("method").GetString().Should().Be("elicitation/create");
        ask.GetProperty("params").GetProperty("message").GetString().Should().Contain("approve_me").And.Contain("Needs a person.").And.Contain("/tmp/x");
        ask.GetProperty("params").GetProperty("requestedSchema").GetProperty("properties").GetProperty("approve").GetProperty("type").GetString().Should().Be("boolean");
        result.GetProperty("id").GetString().Should().Be("c1");
        result.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran approve_me");
        proxy.Child.CalledTools.Should().Equal("approve_me");
        proxy.Child.Received.Should().NotContain(l => l.Contains("elicitation/create") || l.Contains("\"approve\":true"), "the approval exchange is between the proxy and the client");
        proxy.Audit.ToString().Should().Contain("\"approval\":\"accepted\"");
    }

    [TestCase("""{"action":"decline"}""", "declined")]
    [TestCase("""{"action":"cancel"}""", "cancelled the approval request")]
    [TestCase("""{"action":"accept","content":{"approve":false}}""", "did not tick 'approve'")]
    public async Task NotAccepted_RefusesTheCallWithTheReason(string answer, string reason)
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync(elicitation: true);

        proxy.Send(Call("2", "approve_me"));
        var ask = await proxy.ReceiveAsync();
        proxy.Send(Answer(ask.GetProperty("id").GetRawText(), answer));
        var result = await proxy.ReceiveAsync();
        await proxy.SyncAsync();

        result.GetProperty("id").GetInt32().Should().Be(2);
        result.DeniedText().Should().StartWith("[POLICY DENIED]").And.Contain("Needs a person.").And.Contain(reason).And.Contain("Rule: /tools/approve_me.");
        proxy.Child.CalledTools.Should().BeEmpty();
    }

    [Test]
    public async Task ErrorAnswer_RefusesTheCall()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync(elicitation: true);

        proxy.Send(Call("2", "approve_me"));
        var ask = await proxy.ReceiveAsync();
        proxy.Send("""{"jsonrpc":"2.0","id":""" + ask.GetProperty("id").GetRawText() + ""","error":{"code":-1,"message":"no UI"}}""");
        var result = await proxy.ReceiveAsync();

        result.DeniedText().Should().Contain("answered the approval request with an error");
        proxy.Child.CalledTools.Should().BeEmpty();
    }

    [Test]
    public async Task NoAnswerInTime_RefusesTheCallAndWithdrawsTheQuestion()
    {
        using var proxy = new GatewayHarness(configure: o => o.ApprovalTimeout = TimeSpan.FromSeconds(30));
        await proxy.InitializeAsync(elicitation: true);

        proxy.Send(Call("3", "approve_me"));
        var ask = await proxy.ReceiveAsync();
        proxy.Time.Advance(TimeSpan.FromSeconds(29));
        await proxy.SyncAsync();
        proxy.Time.Advance(TimeSpan.FromSeconds(1));
        var withdrawn = await proxy.ReceiveAsync();
        var result = await proxy.ReceiveAsync();

        withdrawn.GetProperty("method").GetString().Should().Be("notifications/cancelled");
        withdrawn.GetProperty("params").GetProperty("requestId").GetRawText().Should().Be(ask.GetProperty("id").GetRawText());
        result.GetProperty("id").GetInt32().Should().Be(3);
        result.DeniedText().Should().Contain("Nobody answered the approval request within 30 s");
        proxy.Child.CalledTools.Should().BeEmpty();
    }

    [Test]
    public async Task ClientWithoutElicitation_IsRefusedWithoutBeingAsked()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync(elicitation: false);

        var result = await proxy.RequestAsync(Call("4", "approve_me"));

        result.DeniedText().Should().Contain("did not declare the MCP elicitation capability");
        proxy.Child.CalledTools.Should().BeEmpty();
    }

    [Test]
    public async Task ClientWithUrlModeElicitationOnly_IsRefusedWithoutBeingAsked()
    {
        using var proxy = new GatewayHarness();
        await proxy.RequestAsync("""{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"capabilities":{"elicitation":{"url":{}}},"clientInfo":{"name":"c"}}}""");

        var result = await proxy.RequestAsync(Call("4", "approve_me"));

        result.DeniedText().Should().Contain("did not declare the MCP elicitation capability");
    }

    [Test]
    public async Task ApprovedCall_CountsOnceAgainstItsLimit()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync(elicitation: true);

        proxy.Send(Call("1", "approve_limited"));
        var ask = await proxy.ReceiveAsync();
        proxy.Send(Answer(ask.GetProperty("id").GetRawText(), """{"action":"accept","content":{"approve":true}}"""));
        (await proxy.ReceiveAsync()).GetProperty("result").GetProperty("isError").GetBoolean().Should().BeFalse();

        // The limit of 1 is spent by the approved call: the next one is refused before anyone is asked.
        var second = await proxy.RequestAsync(Call("2", "approve_limited"));

        second.GetProperty("id").GetInt32().Should().Be(2);
        second.DeniedText().Should().Contain("Retry after");
        proxy.Child.CalledTools.Should().Equal("approve_limited");
    }

    [Test]
    public async Task ClientCancelsTheCallWhileWaiting_NothingIsForwardedAndTheQuestionIsWithdrawn()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync(elicitation: true);

        proxy.Send(Call("5", "approve_me"));
        var ask = await proxy.ReceiveAsync();
        proxy.Send("""{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}""");
        var withdrawn = await proxy.ReceiveAsync();
        proxy.Send(Answer(ask.GetProperty("id").GetRawText(), """{"action":"accept","content":{"approve":true}}"""));
        await proxy.SyncAsync();

        withdrawn.GetProperty("method").GetString().Should().Be("notifications/cancelled");
        proxy.Child.CalledTools.Should().BeEmpty();
    }

    [Test]
    public async Task OtherTraffic_FlowsWhileAnApprovalIsPending()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync(elicitation: true);

        proxy.Send(Call("6", "approve_me"));
        var ask = await proxy.ReceiveAsync();
        var meanwhile = await proxy.RequestAsync(Call("7", "echo"));
        proxy.Send(Answer(ask.GetProperty("id").GetRawText(), """{"action":"accept","content":{"approve":true}}"""));
        var approved = await proxy.ReceiveAsync();

        meanwhile.GetProperty("id").GetInt32().Should().Be(7);
        approved.GetProperty("id").GetInt32().Should().Be(6);
        proxy.Child.CalledTools.Should().Equal("echo", "approve_me");
    }

    /// <summary>The client's answer to the request with <paramref name="id"/> (its JSON, as the client was sent it).</summary>
    private static string Answer(string id, string result) =>
        """{"jsonrpc":"2.0","id":""" + id + ""","result":""" + result + "}";
}
