using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer.Mcp;

namespace PolicyLayer.ModelContextProtocol.Tests;

/// <summary>
/// Approvals through input requests (the multi-round-trip path of stateless HTTP) are single-use: the approved retry,
/// sent again with the same answer and state, is refused, on this server and on any other that shares the counter store.
/// </summary>
public sealed class ApprovalReplayTests
{
    // No limits: only the approval's own single use can stop a replay.
    private const string ApprovalOnly = """
        {
          "version": "1",
          "tools": {
            "execute_flow": { "action": "require_approval", "reason": "Runs a production workflow." },
            "get_flow": { "limits": [ { "counter": "read_rate", "window": "minute", "max": 100, "scope": "grant" } ] },
            "explode": {
              "action": "require_approval",
              "limits": [ { "counter": "explode_rate", "window": "minute", "max": 1, "scope": "grant" } ]
            }
          }
        }
        """;

    private static Dictionary<string, object?> Hello => new() { ["namespace"] = "company.team", ["id"] = "hello" };

    private static McpServerTool[] FailingTools =>
    [
        McpServerTool.Create(() => { throw new InvalidOperationException("backend down"); }, new() { Name = "explode" }),
    ];

    [TestCase(null)]
    [TestCase("2025-11-25")]
    public async Task CallTool_ApprovedRetrySentAgain_IsRefusedAsAlreadyUsedAndTheToolRunsOnce(string? protocolVersion)
    {
        var retries = new RetryRecorder();
        await using var host = new McpTestHost(ApprovalOnly, InputRequests(), beforePolicyLayer: retries.Install);
        var asked = new List<ElicitRequestParams?>();
        await using var client = await host.ConnectAsync(Approving(asked, protocolVersion));
        var first = await client.CallToolAsync("execute_flow", Hello);
        first.IsError.Should().NotBe(true, first.Text());

        var replay = await SendAsync(client, retries.Single());

        replay.IsError.Should().BeTrue();
        replay.Text().Should().StartWith("[POLICY DENIED]").And.Contain("This approval was already used");
        host.Flows.Runs("execute_flow").Should().Be(1);
        asked.Should().ContainSingle("the replay carried an answer, so nobody was asked again");
    }

    [Test]
    public async Task CallTool_ApprovedRetrySentAgainAtTheLastValidInstant_IsRefusedByTheInMemoryStoreToo()
    {
        var retries = new RetryRecorder();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var store = new InMemoryCounterStore(new InMemoryCounterStoreOptions { TimeProvider = time });
        await using var host = new McpTestHost(
            ApprovalOnly,
            o =>
            {
                InputRequests()(o);
                o.CounterStore = store;
            },
            time: time,
            beforePolicyLayer: retries.Install);
        await using var client = await host.ConnectAsync(Approving());
        await client.CallToolAsync("execute_flow", Hello);

        // Exactly ApprovalTimeout after it was issued the state is still valid; the used nonce must still be held.
        time.Advance(TimeSpan.FromMinutes(5));

        var replay = await SendAsync(client, retries.Single());

        replay.Text().Should().StartWith("[POLICY DENIED]").And.Contain("This approval was already used");
        host.Flows.Runs("execute_flow").Should().Be(1);
        host.Store.Reservations.Should().Be(0, "the host's own store replaced the test store");
    }

    [TestCase(null)]
    [TestCase("2025-11-25")]
    public async Task CallTool_AfterAnApprovalWasUsed_AFreshApprovalStillWorks(string? protocolVersion)
    {
        var retries = new RetryRecorder();
        await using var host = new McpTestHost(ApprovalOnly, InputRequests(), beforePolicyLayer: retries.Install);
        var asked = new List<ElicitRequestParams?>();
        await using var client = await host.ConnectAsync(Approving(asked, protocolVersion));
        await client.CallToolAsync("execute_flow", Hello);

        var second = await client.CallToolAsync("execute_flow", Hello);

        second.IsError.Should().NotBe(true, second.Text());
        host.Flows.Runs("execute_flow").Should().Be(2);
        asked.Should().HaveCount(2);
        retries.All.Select(r => r.RequestState).Should().OnlyHaveUniqueItems("each approval carries its own single-use state, even at the same instant");
    }

    [Test]
    public async Task CallTool_RetryWhoseNonceWasChanged_IsRefusedAsNotIssuedForIt()
    {
        var retries = new RetryRecorder();
        await using var host = new McpTestHost(ApprovalOnly, InputRequests(), beforePolicyLayer: retries.Install);
        await using var client = await host.ConnectAsync(Approving());
        await client.CallToolAsync("execute_flow", Hello);
        var used = retries.Single();
        var parts = used.RequestState!.Split('.');
        parts.Should().HaveCount(4, "the state is version.issued-at.nonce.mac");

        // A fresh nonce would not be in the store yet: only the signature stops this.
        parts[2] = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        var tampered = await SendAsync(client, used, string.Join('.', parts));

        tampered.Text().Should().StartWith("[POLICY DENIED]").And.Contain("was not issued for it");
        host.Flows.Runs("execute_flow").Should().Be(1);
    }

    [Test]
    public async Task CallTool_OneApprovalOnTwoServersSharingACounterStore_IsUsedOnlyOnce()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var retries = new RetryRecorder();
        await using var serverA = new McpTestHost(ApprovalOnly, InputRequests(key), beforePolicyLayer: retries.Install);
        await using var serverB = new McpTestHost(ApprovalOnly, InputRequests(key), store: serverA.Store, time: serverA.Time);
        await using var clientA = await serverA.ConnectAsync(Approving());
        var askedB = new List<ElicitRequestParams?>();
        await using var clientB = await serverB.ConnectAsync(Approving(askedB));
        var first = await clientA.CallToolAsync("execute_flow", Hello);
        first.IsError.Should().NotBe(true, first.Text());

        var onB = await SendAsync(clientB, retries.Single());

        // "already used", not "not issued for it": server B accepted the signature and refused the second use.
        onB.Text().Should().StartWith("[POLICY DENIED]").And.Contain("This approval was already used");
        serverA.Flows.Runs("execute_flow").Should().Be(1);
        serverB.Flows.Runs("execute_flow").Should().Be(0);
        askedB.Should().BeEmpty();
    }

    [Test]
    public async Task CallTool_ApprovedToolFails_ItsUnitsComeBackButTheApprovalStaysUsed()
    {
        var retries = new RetryRecorder();
        await using var host = new McpTestHost(ApprovalOnly, InputRequests(), beforePolicyLayer: retries.Install, extraTools: FailingTools);
        var asked = new List<ElicitRequestParams?>();
        await using var client = await host.ConnectAsync(Approving(asked));
        var failed = await client.CallToolAsync("explode");
        failed.IsError.Should().BeTrue();
        failed.Text().Should().NotContain("POLICY DENIED");

        var replay = await SendAsync(client, retries.Single());
        var askedAgain = await client.CallToolAsync("explode");

        host.Store.Used("explode_rate", "grant-a").Should().Be(0, "both failed calls gave their unit back");
        replay.Text().Should().StartWith("[POLICY DENIED]").And.Contain("This approval was already used");
        askedAgain.Text().Should().NotContain("POLICY DENIED", "a new approval lets the call through to the tool again");
        asked.Should().HaveCount(2);
    }

    [Test]
    public async Task CallTool_CounterStoreFailsWhileUsingUpTheApproval_IsRefusedEvenWhenTheStoreMayFailOpen()
    {
        await using var host = new McpTestHost(
            ApprovalOnly,
            InputRequests(),
            beforePolicyLayer: b => b.Services.Configure<PolicyLayerOptions>(o => o.CounterStoreFailureMode = CounterStoreFailureMode.FailOpen));
        await using var client = await host.ConnectAsync(Approving());
        host.Store.Unavailable = true;
        var read = await client.CallToolAsync("get_flow", Hello);
        read.IsError.Should().NotBe(true, "the host chose fail-open for ordinary limits: " + read.Text());

        var result = await client.CallToolAsync("execute_flow", Hello);

        result.Text().Should().StartWith("[POLICY DENIED]").And.Contain("could not be recorded as used");
        host.Flows.Runs("execute_flow").Should().Be(0);
    }

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(24 * 60 + 1)]
    public void WithPolicyLayer_ApprovalTimeoutNotPositiveOrOverADay_ThrowsNamingTheOption(int minutes)
    {
        var services = new ServiceCollection();
        services.AddMcpServer().WithPolicyLayer(o =>
        {
            o.Policy = PolicyDocument.Parse(ApprovalOnly);
            o.ApprovalTimeout = TimeSpan.FromMinutes(minutes);
        });
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<PolicyLayerMcpOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().WithMessage("*PolicyLayerMcpOptions.ApprovalTimeout must be positive and at most one day*");
    }

    private static Action<PolicyLayerMcpOptions> InputRequests(byte[]? signingKey = null) => o =>
    {
        o.ApprovalRoundTrip = ApprovalRoundTrip.InputRequests;
        if (signingKey is not null)
        {
            o.ApprovalSigningKey = signingKey;
        }
    };

    private static McpClientOptions Approving(List<ElicitRequestParams?>? asked = null, string? protocolVersion = null) => new()
    {
        ProtocolVersion = protocolVersion,
        ClientInfo = new Implementation { Name = "test-agent", Version = "1" },
        Handlers = new McpClientHandlers
        {
            ElicitationHandler = (request, _) =>
            {
                asked?.Add(request);
                return new(new ElicitResult
                {
                    Action = "accept",
                    Content = new Dictionary<string, JsonElement> { ["approve"] = JsonSerializer.SerializeToElement(true) },
                });
            },
        },
    };

    /// <summary>Sends a tools/call retry as a client would, with the answers and the state of <paramref name="retry"/>.</summary>
    private static async Task<CallToolResult> SendAsync(McpClient client, CallToolRequestParams retry, string? requestState = null)
    {
        var parameters = new JsonObject
        {
            ["name"] = retry.Name,
            ["arguments"] = JsonSerializer.SerializeToNode(retry.Arguments, McpJsonUtilities.DefaultOptions),
            ["inputResponses"] = JsonSerializer.SerializeToNode(retry.InputResponses, McpJsonUtilities.DefaultOptions),
            ["requestState"] = requestState ?? retry.RequestState,
        };
        var response = await client.SendRequestAsync(new JsonRpcRequest { Method = RequestMethods.ToolsCall, Params = parameters });
        return JsonSerializer.Deserialize<CallToolResult>(response.Result, McpJsonUtilities.DefaultOptions)
            ?? throw new InvalidOperationException("The server answered tools/call with no result.");
    }

    /// <summary>Records, on the server, every tools/call retry that reached the tool: the approved ones.</summary>
    private sealed class RetryRecorder
    {
        private readonly List<CallToolRequestParams> _retries = [];

        public IReadOnlyList<CallToolRequestParams> All
        {
            get
            {
                lock (_retries)
                {
                    return [.. _retries];
                }
            }
        }

        public CallToolRequestParams Single()
        {
            All.Should().ContainSingle("one approved retry reached the tool");
            var retry = All[0];
            retry.InputResponses.Should().NotBeNullOrEmpty();
            retry.RequestState.Should().NotBeNullOrEmpty();
            return retry;
        }

        public void Install(IMcpServerBuilder builder) =>
            builder.WithRequestFilters(filters => filters.AddCallToolFilter(next => (context, cancellationToken) =>
            {
                if (context.Params is { RequestState: not null } retry)
                {
                    lock (_retries)
                    {
                        _retries.Add(retry);
                    }
                }

                return next(context, cancellationToken);
            }));
    }
}
