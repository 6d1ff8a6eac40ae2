using System.Text.Json;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests;

public class GatewayRelayTests
{
    [Test]
    public async Task ToolsCall_Allowed_ReachesTheChildInCanonicalFormUnderAnIdOfTheProxys()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();
        const string Line = """{ "jsonrpc" : "2.0", "id" : 7, "method" : "tools/call", "params" : { "name" : "echo", "arguments" : { "text" : "h\u00e9llo" } } }""";

        var answer = await proxy.RequestAsync(Line);

        answer.GetProperty("id").GetRawText().Should().Be("7");
        answer.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran echo");
        var forwarded = proxy.Child.Received.Single(l => l.Contains("tools/call"));
        var serverId = JsonDocument.Parse(forwarded).RootElement.GetProperty("id").GetInt64();
        forwarded.Should().Be("""{"jsonrpc":"2.0","id":""" + serverId + ""","method":"tools/call","params":{"name":"echo","arguments":{"text":"h\u00e9llo"}}}""");
    }

    [Test]
    public async Task ToolsCall_Denied_IsAnsweredByTheProxyAndNeverReachesTheChild()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();

        var answer = await proxy.RequestAsync(Call("\"n-1\"", "write_note", """{"text":"hi"}"""));
        await proxy.SyncAsync();

        answer.GetProperty("id").GetString().Should().Be("n-1");
        answer.DeniedText().Should().Be("[POLICY DENIED] The call of 'write_note' was denied: No notes. Rule: /tools/write_note. Do not retry: the same call will be refused again.");
        proxy.Child.CalledTools.Should().NotContain("write_note");
    }

    [Test]
    public async Task ToolsCall_OverItsLimit_IsRefusedWithTheTimeToRetry()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();

        (await proxy.RequestAsync(Call("1", "limited"))).GetProperty("result").GetProperty("isError").GetBoolean().Should().BeFalse();
        var second = await proxy.RequestAsync(Call("2", "limited"));

        second.DeniedText().Should().StartWith("[POLICY DENIED] ").And.EndWith("Rule: /tools/limited/limits/0. Retry after 60 s.");
        proxy.Child.CalledTools.Count(t => t == "limited").Should().Be(1);
    }

    [Test]
    public async Task ToolsCall_ChildAnswersIsError_GivesTheReservationBack()
    {
        using var proxy = new GatewayHarness();
        proxy.Child.FailingTools.Add("limited");
        await proxy.InitializeAsync();

        var first = await proxy.RequestAsync(Call("1", "limited"));
        var second = await proxy.RequestAsync(Call("2", "limited"));

        first.GetProperty("result").GetProperty("isError").GetBoolean().Should().BeTrue();
        second.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran limited", "the failed call's unit was given back");
    }

    [Test]
    public async Task ToolsCall_ChildAnswersJsonRpcError_GivesTheReservationBack()
    {
        using var proxy = new GatewayHarness();
        proxy.Child.ErrorTools.Add("limited");
        await proxy.InitializeAsync();

        (await proxy.RequestAsync(Call("1", "limited"))).ErrorCode().Should().Be(-32000);
        (await proxy.RequestAsync(Call("2", "limited"))).ErrorCode().Should().Be(-32000, "the second call reached the child: the first one's unit was given back");
        proxy.Child.CalledTools.Count(t => t == "limited").Should().Be(2);
    }

    [Test]
    public async Task ToolsList_Response_HidesHiddenAndDeniedToolsAndKeepsTheRest()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();

        var answer = await proxy.RequestAsync("""{"jsonrpc":"2.0","id":"list","method":"tools/list"}""");

        var names = answer.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        names.Should().BeEquivalentTo(["echo", "limited", "approve_me", "approve_limited", "agent_limited", "grant_limited"]);
        answer.GetProperty("id").GetString().Should().Be("list");
        answer.GetProperty("result").GetProperty("_meta").GetProperty("kept").GetBoolean().Should().BeTrue();
        answer.GetProperty("result").GetProperty("tools")[0].GetProperty("annotations").GetProperty("readOnlyHint").GetBoolean().Should().BeTrue();
    }

    [Test]
    public async Task ToolsCall_ToolAnnotatedDestructive_IsRefusedByTheRiskRuleThroughItsDescriptor()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();

        var answer = await proxy.RequestAsync(Call("1", "tidy_up"));

        answer.DeniedText().Should().Contain("Destructive tools are refused.").And.Contain("Rule: /risk/destructive.");
        proxy.Child.CalledTools.Should().BeEmpty();
    }

    [Test]
    public async Task ListChanged_FromTheChild_RefreshesTheDescriptorsCallsAreDecidedWith()
    {
        var readOnly = """{"name":"tidy_up","description":"Tidies the workspace.","annotations":{"readOnlyHint":true}}""";
        using var proxy = new GatewayHarness(tools: [readOnly]);
        await proxy.InitializeAsync();
        (await proxy.RequestAsync(Call("1", "tidy_up"))).GetProperty("result").GetProperty("isError").GetBoolean().Should().BeFalse();

        proxy.Child.Tools = ["""{"name":"tidy_up","description":"Tidies the workspace.","annotations":{"readOnlyHint":false,"destructiveHint":true}}"""];
        proxy.Child.Send("""{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}""");
        (await proxy.ReceiveAsync()).GetProperty("method").GetString().Should().Be("notifications/tools/list_changed");

        var after = await proxy.RequestAsync(Call("2", "tidy_up"));

        after.DeniedText().Should().Contain("Destructive tools are refused.");
        proxy.Child.ToolListRequests.Should().Be(2);
    }

    [Test]
    public async Task ProxyOwnToolsList_IsNeverSeenByTheClient()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();

        var answer = await proxy.RequestAsync(Call("1", "echo"));
        await proxy.SyncAsync();

        answer.GetProperty("id").GetInt32().Should().Be(1, "the first line after the call is its answer, not the proxy's tools/list");
        proxy.Child.Methods.Should().Contain("tools/list");
    }

    [Test]
    public async Task Initialize_ClientNameBecomesTheAgentAndTheGrantComesFromTheOptions()
    {
        using var proxy = new GatewayHarness(configure: o => o.GrantId = "grant-7");
        await proxy.InitializeAsync(clientName: "claude-code");

        proxy.Gateway.Caller.AgentId.Should().Be("claude-code");
        proxy.Gateway.Caller.GrantId.Should().Be("grant-7");
        proxy.Gateway.Caller.SessionId.Should().Be(SessionId);
        (await proxy.RequestAsync(Call("1", "agent_limited"))).GetProperty("result").GetProperty("isError").GetBoolean().Should().BeFalse();
        (await proxy.RequestAsync(Call("2", "grant_limited"))).GetProperty("result").GetProperty("isError").GetBoolean().Should().BeFalse();
    }

    [Test]
    public async Task ToolsCall_AgentOrGrantScopeWithoutThatIdentity_IsRefused()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync(clientName: null);

        (await proxy.RequestAsync(Call("1", "agent_limited"))).DeniedText().Should().Contain("has no agent id");
        (await proxy.RequestAsync(Call("2", "grant_limited"))).DeniedText().Should().Contain("has no grant id");
    }

    [Test]
    public async Task OtherMessages_PassBothWaysUnderIdsOfTheProxys()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();
        const string Request = """{"jsonrpc":"2.0",  "id":"r1","method":"resources/list","params":{"cursor":"c"}}""";
        const string ServerRequest = """{"jsonrpc":"2.0","id":99,"method":"sampling/createMessage","params":{"messages":[]}}""";

        proxy.Send(Request);
        var echoed = await proxy.ReceiveLineAsync();
        proxy.Child.Send(ServerRequest);
        var relayed = JsonDocument.Parse(await proxy.ReceiveLineAsync()).RootElement;
        var clientFacingId = relayed.GetProperty("id").GetRawText();
        proxy.Send("""{"jsonrpc":"2.0","id":""" + clientFacingId + ""","result":{"role":"assistant","content":{"type":"text","text":"ok"}}}""");
        await proxy.SyncAsync();

        echoed.Should().Be("""{"jsonrpc":"2.0","id":"r1","result":{"echo":"resources/list"}}""");
        relayed.GetProperty("method").GetString().Should().Be("sampling/createMessage");
        proxy.Child.Received.Should().Contain(l => l.Contains("resources/list") && l.Contains("\"params\":{\"cursor\":\"c\"}") && !l.Contains("r1"));
        proxy.Child.Received.Should().Contain("""{"jsonrpc":"2.0","id":99,"result":{"role":"assistant","content":{"type":"text","text":"ok"}}}""");
    }

    [Test]
    public async Task AuditLog_HasOneLinePerDecisionWithArgumentNamesButNotTheirValues()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();

        await proxy.RequestAsync(Call("1", "echo", """{"text":"secret-value-1"}"""));
        await proxy.RequestAsync(Call("\"two\"", "write_note", """{"note":"secret-value-2","to":"x"}"""));

        var lines = proxy.Audit.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(2);
        lines.Should().NotContain(l => l.Contains("secret-value"));
        var denied = JsonDocument.Parse(lines[1]).RootElement;
        denied.GetProperty("tool").GetString().Should().Be("write_note");
        denied.GetProperty("outcome").GetString().Should().Be("deny");
        denied.GetProperty("shadowed").GetBoolean().Should().BeFalse();
        denied.GetProperty("rule").GetString().Should().Be("/tools/write_note");
        denied.GetProperty("id").GetString().Should().Be("two");
        denied.GetProperty("agent").GetString().Should().Be("test-client");
        denied.GetProperty("session").GetString().Should().Be(SessionId);
        denied.GetProperty("time").GetString().Should().Be("2026-11-24T12:00:00.000Z");
        denied.GetProperty("argumentKeys").EnumerateArray().Select(k => k.GetString()).Should().Equal("note", "to");
    }

    [TestCase(false, TestName = "ClientInputEnds_ClosesTheChildInputAndTheRunEndsWithTheChildOutput")]
    [TestCase(true, TestName = "ClientInputEnds_ClosesTheChildInputAndTheRunEndsWithTheChildOutput_LoopsReadingInPlace")]
    public async Task ClientInputEnds_ClosesTheChildInputAndTheRunEndsWithTheChildOutput(bool readInPlace)
    {
        using var proxy = new GatewayHarness(readInPlace: readInPlace);
        await proxy.InitializeAsync();

        proxy.CloseClientInput();
        await proxy.Child.Loop.WaitAsync(TimeSpan.FromSeconds(10));
        proxy.Child.CloseOutput();

        await proxy.Run.WaitAsync(TimeSpan.FromSeconds(10));
        proxy.Run.IsCompletedSuccessfully.Should().BeTrue();
        proxy.Gateway.ClientInputEnded.IsCompleted.Should().BeTrue();
    }
}
