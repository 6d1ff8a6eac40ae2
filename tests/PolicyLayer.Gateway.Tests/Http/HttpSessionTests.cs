using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests.Http;

/// <summary>The HTTP front's sessions, headers, credentials and upstreams.</summary>
public class HttpSessionTests
{
    private const string Initialize = """{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"other","version":"1"}}}""";

    private string _work = null!;

    [SetUp]
    public void CreateWorkspace() => _work = Directory.CreateTempSubdirectory("policylayer-http-").FullName;

    [TearDown]
    public void DeleteWorkspace() => Directory.Delete(_work, recursive: true);

    [Test]
    public async Task RequestWithoutASession_OtherThanInitialize_Is400WithItsId_AndAnUnknownSessionIs404()
    {
        using var gateway = await HttpGatewayHarness.StartAsync();

        using var noSession = await gateway.PostRawAsync(Call("7", "echo"));
        using var unknown = await gateway.PostRawAsync(Call("8", "echo"), r => r.Headers.Add("Mcp-Session-Id", "0123456789abcdef0123456789abcdef"));

        noSession.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var body = JsonDocument.Parse(await noSession.Content.ReadAsStringAsync()).RootElement;
        body.GetProperty("id").GetInt32().Should().Be(7);
        body.ErrorCode().Should().Be(-32600);
        unknown.StatusCode.Should().Be(HttpStatusCode.NotFound);
        gateway.Children.Should().BeEmpty("no session was opened, so no server was started");
    }

    [TestCase("not json", -32700, null, TestName = "MalformedPost_InASession_Is400_WithAParseErrorAndANullId")]
    [TestCase("""{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","name":"write_note"}}""", -32600, 5, TestName = "AmbiguousPost_InASession_Is400_RefusedWithItsId")]
    public async Task RefusedPost_InASession_Is400_WithTheGatewaysError(string body, int code, int? id)
    {
        // The endpoint's scan is the gateway's (one scan per POST): what it refuses is still a 400, answered by the gateway.
        using var gateway = await HttpGatewayHarness.StartAsync();
        await gateway.InitializeAsync();

        using var response = await gateway.PostRawAsync(body);

        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, $"{response.Content.Headers.ContentType}: {text}");
        var answer = JsonDocument.Parse(text).RootElement;
        answer.ErrorCode().Should().Be(code);
        if (id is null)
        {
            answer.GetProperty("id").ValueKind.Should().Be(JsonValueKind.Null);
        }
        else
        {
            answer.GetProperty("id").GetInt32().Should().Be(id.Value);
        }

        (await gateway.RequestAsync(Call("9", "echo"))).GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran echo");
    }

    [Test]
    public async Task UnsupportedProtocolVersionHeader_Is400()
    {
        using var gateway = await HttpGatewayHarness.StartAsync();

        using var response = await gateway.PostRawAsync(Initialize, r => r.Headers.Add("MCP-Protocol-Version", "1999-01-01"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).Should().Contain("1999-01-01");
    }

    [Test]
    public async Task ForeignOrigin_Is403()
    {
        using var gateway = await HttpGatewayHarness.StartAsync();

        using var response = await gateway.PostRawAsync(Initialize, r => r.Headers.Add("Origin", "http://evil.example"));

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        gateway.Children.Should().BeEmpty();
    }

    [Test]
    public async Task EachSession_HasItsOwnServer_AndDeleteEndsItAndItsServer()
    {
        using var gateway = await HttpGatewayHarness.StartAsync();
        await gateway.InitializeAsync();
        using var second = await gateway.PostRawAsync(Initialize, r => r.Headers.Remove("Mcp-Session-Id"));
        var secondSession = second.Headers.GetValues("Mcp-Session-Id").Single();
        var first = gateway.Children.First();

        var deleted = await gateway.DeleteAsync();
        await first.Loop.WaitAsync(TimeSpan.FromSeconds(10));
        using var after = await gateway.PostRawAsync(Call("1", "echo"));

        secondSession.Should().NotBe(gateway.SessionId);
        gateway.Children.Should().HaveCount(2);
        deleted.Should().Be(HttpStatusCode.NoContent);
        first.Loop.IsCompleted.Should().BeTrue("the session's server read the end of its input");
        after.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Test]
    public async Task SessionsOverTheLimit_Are503_AndNoServerIsStarted()
    {
        using var gateway = await HttpGatewayHarness.StartAsync(configure: o => o.MaxSessions = 1);
        await gateway.InitializeAsync();

        using var second = await gateway.PostRawAsync(Initialize, r => r.Headers.Remove("Mcp-Session-Id"));

        second.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        gateway.Children.Should().HaveCount(1);
    }

    [Test]
    public async Task IdleSession_IsEndedAfterTheIdleTimeout_WithItsServer()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        using var gateway = await HttpGatewayHarness.StartAsync(configure: o =>
        {
            o.IdleTimeout = TimeSpan.FromMinutes(4);
            o.Session.TimeProvider = time;
        });
        gateway.OpenGetStream = false;
        await gateway.InitializeAsync();
        await gateway.SyncAsync();
        await WaitForAsync(() => gateway.NoRequestOpen);

        time.Advance(TimeSpan.FromMinutes(3));
        var stillOpen = gateway.OpenSessions;
        time.Advance(TimeSpan.FromMinutes(2));
        await gateway.Child.Loop.WaitAsync(TimeSpan.FromSeconds(10));
        using var after = await gateway.PostRawAsync(Call("1", "echo"));

        stillOpen.Should().Be(1);
        after.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Test]
    public async Task ApprovalOverHttp_IsAskedOnTheCallsEventStream_AndTheCallRunsOnceAccepted()
    {
        using var gateway = await HttpGatewayHarness.StartAsync();
        await gateway.InitializeAsync(elicitation: true);

        gateway.Send(Call("1", "approve_me"));
        var ask = await gateway.ReceiveAsync();
        gateway.Send("""{"jsonrpc":"2.0","id":""" + ask.GetProperty("id").GetRawText() + ""","result":{"action":"accept","content":{"approve":true}}}""");
        var result = await gateway.ReceiveAsync();

        ask.GetProperty("method").GetString().Should().Be("elicitation/create");
        result.GetProperty("id").GetInt32().Should().Be(1);
        result.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran approve_me");
        gateway.Child.CalledTools.Should().Equal("approve_me");
    }

    [Test]
    public async Task NoCredential_Is401WithTheProtectedResourceMetadata()
    {
        var grants = WriteGrants(("token-a", "team-a", null));
        using var gateway = await HttpGatewayHarness.StartAsync(configure: o =>
        {
            o.TrustedGrant = null;
            o.GrantsFile = grants;
            o.AuthorizationServers.Add(new Uri("https://login.example/"));
        });

        using var response = await gateway.PostRawAsync(Initialize);
        var challenge = response.Headers.WwwAuthenticate.ToString();
        var metadataUrl = challenge.Split('"')[1];
        using var http = new HttpClient();
        var metadata = JsonDocument.Parse(await http.GetStringAsync(metadataUrl)).RootElement;

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        challenge.Should().StartWith("Bearer resource_metadata=\"");
        metadataUrl.Should().EndWith("/.well-known/oauth-protected-resource/mcp");
        metadata.GetProperty("resource").GetString().Should().Be(gateway.Endpoint.ToString());
        metadata.GetProperty("authorization_servers")[0].GetString().Should().Be("https://login.example/");
        gateway.Children.Should().BeEmpty();
    }

    [Test]
    public async Task GrantToken_NamesTheGrant_AndItsOwnPolicyDecides_AndAWrongTokenIs401EvenWithATrustedGrant()
    {
        var strict = Path.Combine(_work, "strict.json");
        await File.WriteAllTextAsync(strict, """{ "version": "1", "default": "deny", "tools": { "echo": { "action": "deny", "reason": "Not for team b." } } }""");
        var grants = WriteGrants(("token-a", "team-a", null), ("token-b", "team-b", "strict.json"));
        using var a = await HttpGatewayHarness.StartAsync(configure: o => o.GrantsFile = grants);
        a.Token = "token-a";
        await a.InitializeAsync();
        var allowed = await a.RequestAsync(Call("1", "echo"));
        var sessionOfA = a.SessionId;

        a.Token = "token-b";
        using var stolen = await a.PostRawAsync(Call("2", "echo"));
        a.Token = "wrong";
        using var wrong = await a.PostRawAsync(Call("3", "echo"));

        using var b = await HttpGatewayHarness.StartAsync(configure: o => o.GrantsFile = grants);
        b.Token = "token-b";
        await b.InitializeAsync();
        var denied = await b.RequestAsync(Call("1", "echo"));

        allowed.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran echo");
        stolen.StatusCode.Should().Be(HttpStatusCode.NotFound, "a session belongs to the credential that opened it (session {0})", sessionOfA);
        wrong.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        b.Gateway.Caller.GrantId.Should().Be("team-b");
        denied.DeniedText().Should().Contain("Not for team b.");
    }

    [Test]
    public async Task HttpUpstream_GetsTheGatewaysHeaders_NeverTheClientsCredentials_AndOnlyDecidedCalls()
    {
        var seen = new ConcurrentQueue<IHeaderDictionary>();
        using var server = await StartUpstreamRecordingHeadersAsync(seen);
        var grants = WriteGrants(("token-a", "team-a", null));
        using var gateway = await HttpGatewayHarness.StartAsync(configure: o =>
        {
            o.GrantsFile = grants;
            o.Upstream = McpUpstream.Http(server.Endpoint, [new("X-Upstream-Key", "gateway-secret")]);
        });
        gateway.Token = "token-a";

        await gateway.InitializeAsync();
        var list = await gateway.RequestAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""");
        var denied = await gateway.RequestAsync(Call("2", "write_note"));
        var allowed = await gateway.RequestAsync(Call("3", "echo"));

        list.GetRawText().Should().NotContain("secret_tool").And.Contain("\"echo\"");
        denied.DeniedText().Should().Contain("No notes.");
        allowed.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran echo");
        server.Child.CalledTools.Should().Equal("echo");
        seen.Should().NotBeEmpty().And.OnlyContain(h => h["X-Upstream-Key"] == "gateway-secret" && !h.ContainsKey("Authorization") && !h.ContainsKey("Cookie"));
    }

    [Test]
    public async Task HttpUpstream_GetsNoTraceContext_EvenWhenTheClientSendsOne_AndTheGatewayTraces()
    {
        using var tracing = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(tracing);
        var seen = new ConcurrentQueue<IHeaderDictionary>();
        using var server = await StartUpstreamRecordingHeadersAsync(seen);
        using var gateway = await HttpGatewayHarness.StartAsync(configure: o => o.Upstream = McpUpstream.Http(server.Endpoint));
        await gateway.InitializeAsync();

        using var call = await gateway.PostRawAsync(Call("3", "echo"), r => r.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));

        (await call.Content.ReadAsStringAsync()).Should().Contain("ran echo");
        server.Child.CalledTools.Should().Equal("echo");
        seen.Should().NotBeEmpty().And.OnlyContain(h => !h.ContainsKey("traceparent") && !h.ContainsKey("tracestate") && !h.ContainsKey("Request-Id"));
    }

    private string WriteGrants(params (string Token, string Grant, string? Policy)[] grants)
    {
        var path = Path.Combine(_work, "grants.json");
        var entries = grants.Select(g => g.Policy is null
            ? $$"""{"token_sha256":"{{GrantTokens.Hash(g.Token)}}","grant":"{{g.Grant}}"}"""
            : $$"""{"token_sha256":"{{GrantTokens.Hash(g.Token)}}","grant":"{{g.Grant}}","policy":"{{g.Policy}}"}""");
        File.WriteAllText(path, """{"grants":[""" + string.Join(",", entries) + "]}");
        return path;
    }

    /// <summary>An upstream MCP server (allowing everything) that records the headers of every request it gets.</summary>
    private static Task<HttpGatewayHarness> StartUpstreamRecordingHeadersAsync(ConcurrentQueue<IHeaderDictionary> seen) =>
        HttpGatewayHarness.StartAsync(
            policy: """{ "version": "1", "default": "allow" }""",
            beforeMap: app => app.Use(async (context, next) =>
            {
                seen.Enqueue(new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value)));
                await next(context);
            }));

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        condition().Should().BeTrue();
    }
}
