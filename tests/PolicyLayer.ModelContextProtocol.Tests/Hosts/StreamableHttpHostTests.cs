using System.Text.Json;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using PolicyLayer.Mcp;

namespace PolicyLayer.ModelContextProtocol.Tests.Hosts;

/// <summary>
/// The middleware on real ASP.NET Core Streamable HTTP hosts, stateful and stateless, behind JWT bearer
/// authentication: caller identity from the token and the client, session scopes, and how approvals reach the
/// person at the client on each kind of session.
/// </summary>
public sealed class StreamableHttpHostTests
{
    private const string SessionLimited = """
        {
          "version": "1",
          "tools": { "list_flows": { "limits": [ { "counter": "list_rate", "window": "minute", "max": 2, "scope": "session" } ] } }
        }
        """;

    private const string PerUserAndGrant = """
        {
          "version": "1",
          "tools": {
            "list_flows": {
              "limits": [
                { "counter": "list_per_user", "window": "minute", "max": 2, "scope": "user" },
                { "counter": "list_per_grant", "window": "minute", "max": 3, "scope": "grant" }
              ]
            }
          }
        }
        """;

    private const string PerAgent = """
        {
          "version": "1",
          "tools": { "list_flows": { "limits": [ { "counter": "list_per_agent", "window": "minute", "max": 1, "scope": "agent" } ] } }
        }
        """;

    private const string ApprovalPolicy = """
        {
          "version": "1",
          "tools": { "execute_flow": { "action": "require_approval", "reason": "Runs a production workflow." } }
        }
        """;

    private static Dictionary<string, object?> Namespace => new() { ["namespace"] = "company.team" };

    private static Dictionary<string, object?> Hello => new() { ["namespace"] = "company.team", ["id"] = "hello" };

    [Test]
    [CancelAfter(60_000)]
    public async Task CallTool_StatelessHttp_CallerWithoutSession_IsRefusedBySessionScopedLimit()
    {
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateless, SessionLimited);
        var alice = await host.ConnectAsync("alice", "grant-a");

        var result = await alice.CallToolAsync("list_flows", Namespace);

        result.IsError.Should().BeTrue();
        result.Text().Should().StartWith("[POLICY DENIED]").And.Contain("no session id").And.Contain("/tools/list_flows/limits/0");
        host.Flows.Runs("list_flows").Should().Be(0);
        host.Store.Reservations.Should().Be(0, "a caller with no session is never counted in a bucket shared by strangers");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CallTool_StatelessHttp_TwoCallersNeverShareOneSessionBucket()
    {
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateless, SessionLimited);
        var alice = await host.ConnectAsync("alice", "grant-a");
        var bob = await host.ConnectAsync("bob", "grant-b");

        var byAlice = await alice.CallToolAsync("list_flows", Namespace);
        var byBob = await bob.CallToolAsync("list_flows", Namespace);

        // Before the fix both callers were counted in the process's one fallback session: 2 of bob's budget were alice's.
        byAlice.Text().Should().Contain("no session id");
        byBob.Text().Should().Contain("no session id");
        host.Store.Used("list_rate").Should().Be(0);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CallTool_StatefulHttp_SessionScopedLimit_CountsEachSessionApart()
    {
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateful, SessionLimited);
        var first = await host.ConnectAsync("alice", "grant-a");
        var second = await host.ConnectAsync("alice", "grant-a");

        var firstResults = new[] { await first.CallToolAsync("list_flows", Namespace), await first.CallToolAsync("list_flows", Namespace), await first.CallToolAsync("list_flows", Namespace) };
        var secondResult = await second.CallToolAsync("list_flows", Namespace);

        firstResults.Take(2).Should().OnlyContain(r => r.IsError != true);
        firstResults[2].Text().Should().StartWith("[POLICY DENIED]").And.Contain("Retry after");
        secondResult.IsError.Should().NotBe(true, "the second session has a budget of its own");
        host.Store.Used("list_rate", first.SessionId!).Should().Be(2);
        host.Store.Used("list_rate", second.SessionId!).Should().Be(1);
    }

    [TestCase(HttpServerSessionMode.Stateless)]
    [TestCase(HttpServerSessionMode.Stateful)]
    [CancelAfter(60_000)]
    public async Task CallTool_Http_UserAndGrantComeFromTheTokenClaims(HttpServerSessionMode mode)
    {
        await using var host = await HttpMcpTestHost.StartAsync(mode, PerUserAndGrant);
        var alice = await host.ConnectAsync("alice", "grant-shared");
        var bob = await host.ConnectAsync("bob", "grant-shared");

        var aliceResults = new List<CallToolResult>();
        for (var i = 0; i < 3; i++)
        {
            aliceResults.Add(await alice.CallToolAsync("list_flows", Namespace));
        }

        var bobFirst = await bob.CallToolAsync("list_flows", Namespace);
        var bobSecond = await bob.CallToolAsync("list_flows", Namespace);

        aliceResults.Take(2).Should().OnlyContain(r => r.IsError != true);
        aliceResults[2].Text().Should().Contain("/tools/list_flows/limits/0", "alice has used her 2 per user");
        bobFirst.IsError.Should().NotBe(true, "bob's user budget is his own");
        bobSecond.Text().Should().Contain("/tools/list_flows/limits/1", "the grant's 3 are shared by everyone who holds it");
        host.Store.Used("list_per_user", "alice").Should().Be(2);
        host.Store.Used("list_per_user", "bob").Should().Be(1);
        host.Store.Used("list_per_grant", "grant-shared").Should().Be(3);
    }

    [TestCase(HttpServerSessionMode.Stateless)]
    [TestCase(HttpServerSessionMode.Stateful)]
    [CancelAfter(60_000)]
    public async Task CallTool_Http_CallerClaimConditions_AreDecidedFromTheTokensClaims(HttpServerSessionMode mode)
    {
        const string policy = """
            {
              "version": "1",
              "default": "allow",
              "tools": {
                "list_flows": {
                  "deny_if": [
                    { "conditions": [ { "path": "caller.claims.roles", "op": "contains", "value": "contractor" } ],
                      "on_deny": "Contractors may not list flows." }
                  ]
                }
              }
            }
            """;
        await using var host = await HttpMcpTestHost.StartAsync(mode, policy);
        var finance = await host.ConnectAsync(HttpMcpTestHost.IssueToken("alice", "g", new() { ["roles"] = new[] { "finance", "viewer" } }));
        var contractor = await host.ConnectAsync(HttpMcpTestHost.IssueToken("bob", "g", new() { ["roles"] = new[] { "viewer", "contractor" } }));

        var allowed = await finance.CallToolAsync("list_flows", Namespace);
        var refused = await contractor.CallToolAsync("list_flows", Namespace);

        allowed.IsError.Should().NotBe(true, "alice's roles claim holds no 'contractor'");
        refused.IsError.Should().BeTrue("bob's multi-valued roles claim contains 'contractor'");
        refused.Text().Should().Contain("Contractors may not list flows.").And.Contain("/tools/list_flows/deny_if/0");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CallTool_Http_ClaimTypesAreConfigurable()
    {
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateless, PerUserAndGrant, o =>
        {
            o.UserClaimType = "email";
            o.GrantClaimType = "tenant";
        });
        var token = HttpMcpTestHost.IssueToken("alice", grant: null, extraClaims: new() { ["email"] = "alice@example.com", ["tenant"] = "tenant-7" });
        var client = await host.ConnectAsync(token);

        var result = await client.CallToolAsync("list_flows", Namespace);

        result.IsError.Should().NotBe(true);
        host.Store.Used("list_per_user", "alice@example.com").Should().Be(1);
        host.Store.Used("list_per_grant", "tenant-7").Should().Be(1);
    }

    // Stateful only: on a loaded machine the 2.4.0 client's 2026-07-28 discovery against a stateless server was seen to
    // fail ("the server appears to require the initialize handshake"), and an initialize-era client has no agent there
    // (CallTool_StatelessHttp_InitializeEraClient_HasNoAgentAndIsRefusedByAgentScopedLimit).
    [TestCase(HttpServerSessionMode.Stateful)]
    [CancelAfter(60_000)]
    public async Task CallTool_Http_AgentComesFromTheClientInfo(HttpServerSessionMode mode)
    {
        await using var host = await HttpMcpTestHost.StartAsync(mode, PerAgent);
        // Stateless: 2026-07-28 carries the client's info on every request (pinned, so a slow discovery cannot fall back).
        var version = mode == HttpServerSessionMode.Stateless ? "2026-07-28" : null;
        var planner = await host.ConnectAsync("alice", "grant-a", new McpClientOptions { ProtocolVersion = version, ClientInfo = new Implementation { Name = "planner-agent", Version = "1" } });
        var coder = await host.ConnectAsync("alice", "grant-a", new McpClientOptions { ProtocolVersion = version, ClientInfo = new Implementation { Name = "coder-agent", Version = "1" } });

        var byPlanner = new[] { await planner.CallToolAsync("list_flows", Namespace), await planner.CallToolAsync("list_flows", Namespace) };
        var byCoder = await coder.CallToolAsync("list_flows", Namespace);

        byPlanner[0].IsError.Should().NotBe(true, byPlanner[0].Text());
        byPlanner[1].Text().Should().StartWith("[POLICY DENIED]").And.Contain("/tools/list_flows/limits/0");
        byCoder.IsError.Should().NotBe(true, "each client application has a budget of its own");
        host.Store.Used("list_per_agent", "planner-agent").Should().Be(1);
        host.Store.Used("list_per_agent", "coder-agent").Should().Be(1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CallTool_StatelessHttp_InitializeEraClient_HasNoAgentAndIsRefusedByAgentScopedLimit()
    {
        // Its client info went with an initialize that another request served: the agent is unknown, never guessed.
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateless, PerAgent);
        var client = await host.ConnectAsync("alice", "grant-a", new McpClientOptions { ProtocolVersion = "2025-11-25", ClientInfo = new Implementation { Name = "planner-agent", Version = "1" } });

        var result = await client.CallToolAsync("list_flows", Namespace);

        result.Text().Should().StartWith("[POLICY DENIED]").And.Contain("no agent id");
        host.Store.Reservations.Should().Be(0);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CallTool_Http_WithoutToken_IsRejectedByAuthentication()
    {
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateless, PerUserAndGrant);

        var connect = async () => await host.ConnectAsync(token: null);

        await connect.Should().ThrowAsync<Exception>();
        host.Flows.Runs("list_flows").Should().Be(0);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CallTool_StatelessHttp_ApprovalUnderAuto_AsksThroughAnInputRequest()
    {
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateless, ApprovalPolicy);
        var seen = new List<ElicitRequestParams?>();
        var client = await host.ConnectAsync("alice", "grant-a", Answering(approve: true, seen));

        var result = await client.CallToolAsync("execute_flow", Hello);

        result.IsError.Should().NotBe(true, result.Text());
        result.Text().Should().Contain("Execution 1 of company.team.hello started.");
        seen.Should().ContainSingle().Which!.Message.Should().Contain("execute_flow");
        host.Flows.Runs("execute_flow").Should().Be(1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CallTool_StatelessHttp_ApprovalDeclinedThroughAnInputRequest_IsRefused()
    {
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateless, ApprovalPolicy);
        var client = await host.ConnectAsync("alice", "grant-a", Answering(approve: false, seen: null, action: "decline"));

        var result = await client.CallToolAsync("execute_flow", Hello);

        result.Text().Should().StartWith("[POLICY DENIED]").And.Contain("declined");
        host.Flows.Runs("execute_flow").Should().Be(0);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CallTool_StatefulHttp_ApprovalUnderAuto_AsksThroughAnElicitationRequest()
    {
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateful, ApprovalPolicy);
        var seen = new List<ElicitRequestParams?>();
        var client = await host.ConnectAsync("alice", "grant-a", Answering(approve: true, seen));

        var result = await client.CallToolAsync("execute_flow", Hello);

        client.NegotiatedProtocolVersion.Should().Be("2025-11-25", "a stateful HTTP server has sessions only for initialize-era clients");
        result.IsError.Should().NotBe(true, result.Text());
        seen.Should().ContainSingle();
        host.Flows.Runs("execute_flow").Should().Be(1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CallTool_StatelessHttp_InitializeEraClient_IsRefusedWithTheTrueReason()
    {
        // The TypeScript SDK's client speaks 2025-11-25: on a stateless server it can be neither sent an elicitation
        // request (no session) nor answered with an input request (its protocol has none). It did declare elicitation.
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateless, ApprovalPolicy);
        var seen = new List<ElicitRequestParams?>();
        var client = await host.ConnectAsync("alice", "grant-a", Answering(approve: true, seen, protocolVersion: "2025-11-25"));

        var result = await client.CallToolAsync("execute_flow", Hello);

        result.Text().Should().StartWith("[POLICY DENIED]")
            .And.Contain("cannot send it a request on this transport (stateless HTTP)")
            .And.Contain("does not support multi-round-trip requests")
            .And.NotContain("did not declare")
            .And.NotContain("(error)");
        seen.Should().BeEmpty();
        host.Flows.Runs("execute_flow").Should().Be(0);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CallTool_StatelessHttp_ElicitationRoundTripForced_IsRefusedWithTheTrueReason()
    {
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateless, ApprovalPolicy, o => o.ApprovalRoundTrip = ApprovalRoundTrip.Elicitation);
        var client = await host.ConnectAsync("alice", "grant-a", Answering(approve: true, seen: null));

        var result = await client.CallToolAsync("execute_flow", Hello);

        result.Text().Should().StartWith("[POLICY DENIED]")
            .And.Contain("stateless")
            .And.NotContain("(error)");
        host.Flows.Runs("execute_flow").Should().Be(0);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CallTool_StatelessHttp_ClientWithoutElicitation_IsRefusedBecauseItDidNotDeclareIt()
    {
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateless, ApprovalPolicy);
        var client = await host.ConnectAsync("alice", "grant-a");

        var result = await client.CallToolAsync("execute_flow", Hello);

        result.Text().Should().StartWith("[POLICY DENIED]").And.Contain("did not declare the MCP elicitation capability");
        host.Flows.Runs("execute_flow").Should().Be(0);
    }

    private static McpClientOptions Answering(bool approve, List<ElicitRequestParams?>? seen, string action = "accept", string? protocolVersion = null) => new()
    {
        ProtocolVersion = protocolVersion,
        ClientInfo = new Implementation { Name = "test-agent", Version = "1" },
        Handlers = new McpClientHandlers
        {
            ElicitationHandler = (request, _) =>
            {
                seen?.Add(request);
                return new ValueTask<ElicitResult>(new ElicitResult
                {
                    Action = action,
                    Content = new Dictionary<string, JsonElement> { ["approve"] = JsonSerializer.SerializeToElement(approve) },
                });
            },
        },
    };
}
