using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
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

    [Test]
    public async Task AnAnswerInJson_IsSentWithItsContentLength_NotChunked()
    {
        using var gateway = await HttpGatewayHarness.StartAsync();
        await gateway.InitializeAsync();

        using var response = await gateway.PostRawAsync(Call("3", "echo"));
        var body = await response.Content.ReadAsByteArrayAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        response.Headers.TransferEncodingChunked.Should().NotBe(true, "a JSON answer is written in one piece with its length");
        response.Content.Headers.ContentLength.Should().Be(body.Length);
        JsonDocument.Parse(body).RootElement.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran echo");
    }

    [Test]
    public async Task TheGatewaysKestrel_HandlesRequestsInline_AsTheProxyRunsIt()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseGatewaySockets();
        await using var app = builder.Build();

        app.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.UnsafePreferInlineScheduling.Should().BeTrue();
    }
}
