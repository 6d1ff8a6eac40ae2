using System.Net;
using System.Text.Json;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests.Http;

/// <summary>The Streamable HTTP front: sessions, the transport's headers and answers, and calls decided by the same gate as over stdio.</summary>
public class HttpFrontTests
{
    [Test]
    public async Task Initialize_OpensASession_AndToolsListIsFiltered()
    {
        using var gateway = await HttpGatewayHarness.StartAsync();

        var answer = await gateway.InitializeAsync();
        var list = await gateway.RequestAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""");

        gateway.SessionId.Should().MatchRegex("^[0-9a-f]{32}$");
        answer.GetProperty("result").GetProperty("serverInfo").GetProperty("name").GetString().Should().Be("fake");
        var names = list.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        names.Should().Contain("echo").And.NotContain("secret_tool").And.NotContain("write_note");
    }

    [Test]
    public async Task DeniedCall_IsRefusedByTheGate_AndTheAllowedOneRuns()
    {
        using var gateway = await HttpGatewayHarness.StartAsync();
        var client = gateway;
        await gateway.InitializeAsync();

        var denied = await client.RequestAsync(Call("1", "write_note"));
        var allowed = await client.RequestAsync(Call("2", "echo"));

        denied.DeniedText().Should().Contain("No notes.");
        denied.GetProperty("result").GetProperty("_meta").GetProperty("policylayer/decision").GetProperty("outcome").GetString().Should().Be("deny");
        allowed.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran echo");
        gateway.Child.CalledTools.Should().Equal("echo");
    }
}
