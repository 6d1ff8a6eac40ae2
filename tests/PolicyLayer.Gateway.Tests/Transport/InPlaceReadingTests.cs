using System.Text.Json;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests.Transport;

/// <summary>
/// The proxy's stdio: both peers read in place (a read blocks its thread until the peer writes), as a byte relay reads
/// them. Each loop then runs on a thread of its own, never on the thread pool, and everything the session does still
/// happens: listing, deciding, refusing, approvals that wait while the client is read, the end of the session.
/// </summary>
public class InPlaceReadingTests
{
    [Test]
    public async Task BothPeers_AreReadOnThreadsOfTheirOwn_NeverOnTheThreadPool_AndCallsAreDecided()
    {
        using var proxy = new GatewayHarness(readInPlace: true);
        await proxy.InitializeAsync();

        var listed = await proxy.RequestAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""");
        var allowed = await proxy.RequestAsync(Call("2", "echo"));
        var refused = await proxy.RequestAsync(Call("3", "write_note"));

        listed.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString())
            .Should().Contain("echo").And.NotContain("secret_tool");
        allowed.GetProperty("id").GetInt32().Should().Be(2);
        allowed.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran echo");
        refused.GetProperty("id").GetInt32().Should().Be(3);
        refused.DeniedText().Should().StartWith("[POLICY DENIED]").And.Contain("No notes.");
        proxy.Child.CalledTools.Should().Equal("echo");

        proxy.FromClient!.Reads.Should().BeGreaterThan(3);
        proxy.FromChild!.Reads.Should().BeGreaterThan(2);
        proxy.FromClient.ReadsOnThePool.Should().Be(0, "the client's loop runs on a thread of its own");
        proxy.FromChild.ReadsOnThePool.Should().Be(0, "the server's loop runs on a thread of its own");
    }

    [Test]
    public async Task AnApproval_IsAskedAndAnswered_WhileTheClientsLoopGoesOnReading()
    {
        using var proxy = new GatewayHarness(readInPlace: true);
        await proxy.InitializeAsync(elicitation: true);

        proxy.Send(Call("\"c1\"", "approve_me"));
        var ask = await proxy.ReceiveAsync();

        // The call waits for the person; the client's loop reads on meanwhile.
        await proxy.SyncAsync();
        proxy.Send("""{"jsonrpc":"2.0","id":""" + ask.GetProperty("id").GetRawText() + ""","result":{"action":"accept","content":{"approve":true}}}""");
        var result = await proxy.ReceiveAsync();

        ask.GetProperty("method").GetString().Should().Be("elicitation/create");
        result.GetProperty("id").GetString().Should().Be("c1");
        result.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran approve_me");
        proxy.Child.CalledTools.Should().Equal("approve_me");
        proxy.FromClient!.ReadsOnThePool.Should().Be(0);
    }
}
