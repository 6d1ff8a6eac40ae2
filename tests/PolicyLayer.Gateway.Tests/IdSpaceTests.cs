using System.Text.Json;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests;

/// <summary>
/// The proxy owns the id space (issue 12, item 2): the server sees only ids the proxy chose, an answer completes only
/// the request it answers, and a request that reuses the id of one in flight is refused, so no reply can make the proxy
/// give units back or relay a tools/list unfiltered.
/// </summary>
public abstract class IdSpaceTests
{
    /// <summary>Starts a gateway with a fake child behind it, on the front the fixture tests.</summary>
    protected abstract Task<IGatewayTestClient> StartGatewayAsync(Action<McpGatewayOptions>? configure = null);

    [Test]
    public async Task RequestReusingTheIdOfAForwardedCall_IsRefused_AndItsErrorCannotGiveTheUnitsBack()
    {
        using var proxy = await StartGatewayAsync();
        proxy.Child.SilentTools.Add("limited");
        proxy.Child.UnknownMethods.Add("bogus/method");
        await proxy.InitializeAsync();
        proxy.Send(Call("1", "limited"));
        await proxy.SyncAsync();

        var reused = await proxy.RequestAsync("""{"jsonrpc":"2.0","id":1,"method":"bogus/method"}""");
        var next = await proxy.RequestAsync(Call("2", "limited"));

        reused.ErrorCode().Should().Be(-32600);
        reused.GetProperty("error").GetProperty("message").GetString().Should().Contain("still in progress");
        proxy.Child.Methods.Should().NotContain("bogus/method");
        next.DeniedText().Should().Contain("Retry after", "the first call's unit is still counted: limited allows one a minute");
    }

    [Test]
    public async Task ServerAnswer_WithAnIdTheProxyNeverSent_IsDroppedAndGivesNothingBack()
    {
        using var proxy = await StartGatewayAsync();
        await proxy.InitializeAsync();
        await proxy.RequestAsync(Call("1", "limited"));

        // The server (or anything writing to the proxy's side) answers ids the proxy never used, errors included.
        foreach (var id in new[] { "1", "\"1\"", "0", "-1", "1000000", "\"limited\"" })
        {
            proxy.Child.Send("""{"jsonrpc":"2.0","id":""" + id + ""","error":{"code":-32000,"message":"failed"}}""");
        }

        await proxy.SyncAsync();
        var next = await proxy.RequestAsync(Call("2", "limited"));

        next.DeniedText().Should().Contain("Retry after", "no stray error answer may give the unit of the call that ran back");
    }

    [Test]
    public async Task UnsolicitedToolsListAnswer_WithTheClientsId_IsDroppedNotRelayedUnfiltered()
    {
        using var proxy = await StartGatewayAsync();
        await proxy.InitializeAsync();
        var listed = await proxy.RequestAsync("""{"jsonrpc":"2.0","id":5,"method":"tools/list"}""");

        proxy.Child.Send("""{"jsonrpc":"2.0","id":5,"result":{"tools":[{"name":"secret_tool","inputSchema":{"type":"object"}}]}}""");
        var next = await proxy.RequestAsync("""{"jsonrpc":"2.0","id":"after","method":"ping"}""");

        listed.GetRawText().Should().NotContain("secret_tool");
        next.GetProperty("id").GetString().Should().Be("after", "the stray list never reached the client");
    }

    [Test]
    public async Task TwoToolsListsWithOneId_EveryListTheClientGets_IsFiltered()
    {
        using var proxy = await StartGatewayAsync();
        await proxy.InitializeAsync();
        const string List = """{"jsonrpc":"2.0","id":3,"method":"tools/list"}""";

        proxy.Send(List + "\n" + List);
        var first = await proxy.ReceiveAsync();
        var second = await proxy.ReceiveAsync();

        first.GetRawText().Should().NotContain("secret_tool");
        second.GetRawText().Should().NotContain("secret_tool");
    }

    [Test]
    public async Task ClientAnswer_ToARequestNobodySent_NeverReachesTheServer()
    {
        using var proxy = await StartGatewayAsync();
        await proxy.InitializeAsync();

        proxy.Send("""{"jsonrpc":"2.0","id":12345,"result":{"action":"accept","content":{"approve":true}}}""");
        await proxy.SyncAsync();

        proxy.Child.Received.Should().NotContain(l => l.Contains("12345"));
    }

    [Test]
    public async Task ServerRequest_ReachesTheClientUnderTheProxysId_AndTheAnswerGoesBackUnderTheServers()
    {
        using var proxy = await StartGatewayAsync();
        await proxy.InitializeAsync();

        proxy.Child.Send("""{"jsonrpc":"2.0","id":"srv-1","method":"roots/list"}""");
        var relayed = await proxy.ReceiveAsync();
        var clientFacing = relayed.GetProperty("id");
        proxy.Send("""{"jsonrpc":"2.0","id":""" + clientFacing.GetRawText() + ""","result":{"roots":[]}}""");
        await proxy.SyncAsync();

        clientFacing.ValueKind.Should().Be(JsonValueKind.Number, "the client sees the proxy's id, not the server's");
        proxy.Child.Received.Should().Contain("""{"jsonrpc":"2.0","id":"srv-1","result":{"roots":[]}}""");
    }

    [Test]
    public async Task ClientCancellation_ReachesTheServerUnderTheIdItKnows()
    {
        using var proxy = await StartGatewayAsync();
        proxy.Child.SilentTools.Add("echo");
        await proxy.InitializeAsync();
        proxy.Send(Call("\"c-9\"", "echo"));
        // The call is decided asynchronously (the gate), so a ping sent after it may reach the server first: wait for the call itself.
        for (var waited = 0; !proxy.Child.Received.Any(l => l.Contains("tools/call")) && waited < 10_000; waited += 10)
        {
            await Task.Delay(10);
        }

        var serverId = JsonDocument.Parse(proxy.Child.Received.Single(l => l.Contains("tools/call"))).RootElement.GetProperty("id").GetRawText();

        proxy.Send("""{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c-9","reason":"user"}}""");
        proxy.Send("""{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"never-sent"}}""");
        await proxy.SyncAsync();

        var cancellations = proxy.Child.Received.Where(l => l.Contains("notifications/cancelled")).ToList();
        cancellations.Should().ContainSingle().Which.Should().Be("""{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":""" + serverId + ""","reason":"user"}}""");
    }
}

/// <summary>The stdio front.</summary>
public sealed class StdioIdSpaceTests : IdSpaceTests
{
    protected override Task<IGatewayTestClient> StartGatewayAsync(Action<McpGatewayOptions>? configure = null) =>
        Task.FromResult<IGatewayTestClient>(new GatewayHarness(configure: configure));
}

/// <summary>The Streamable HTTP front: every message a POST of its own, every answer from a POST's body or the GET stream.</summary>
public sealed class HttpIdSpaceTests : IdSpaceTests
{
    protected override async Task<IGatewayTestClient> StartGatewayAsync(Action<McpGatewayOptions>? configure = null) =>
        await HttpGatewayHarness.StartAsync(configure: o => configure?.Invoke(o.Session));
}
