using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer.Mcp;

namespace PolicyLayer.ModelContextProtocol.Tests;

public sealed class GiveBackTests
{
    private const string OneCallPerMinute = """
        {
          "version": "1",
          "tools": {
            "explode":      { "limits": [ { "counter": "explode_rate", "window": "minute", "max": 1, "scope": "grant" } ] },
            "report_error": { "limits": [ { "counter": "report_rate", "window": "minute", "max": 1, "scope": "grant" } ] }
          }
        }
        """;

    private static McpServerTool[] FailingTools =>
    [
        McpServerTool.Create(() => { throw new InvalidOperationException("backend down"); }, new() { Name = "explode" }),
        McpServerTool.Create(() => new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = "backend said no" }] }, new() { Name = "report_error" }),
    ];

    [TestCase("explode")]
    [TestCase("report_error")]
    public async Task CallTool_ToolFails_GivesItsUnitBack(string tool)
    {
        await using var host = new McpTestHost(OneCallPerMinute, extraTools: FailingTools);
        await using var client = await host.ConnectAsync();

        var first = await client.CallToolAsync(tool);
        var second = await client.CallToolAsync(tool);

        first.IsError.Should().BeTrue();
        second.IsError.Should().BeTrue();
        second.Text().Should().NotContain("POLICY DENIED", "the failed first call gave its one unit back");
        host.Store.Releases.Should().Be(2);
        host.Store.Used(tool == "explode" ? "explode_rate" : "report_rate", "grant-a").Should().Be(0);
    }
}

public sealed class ApprovalTests
{
    private const string ApprovalPolicy = """
        {
          "version": "1",
          "tools": {
            "execute_flow": {
              "action": "require_approval",
              "reason": "Runs a production workflow.",
              "limits": [ { "counter": "execute_rate", "window": "minute", "max": 1, "scope": "grant" } ]
            }
          }
        }
        """;

    private static Dictionary<string, object?> Hello => new() { ["namespace"] = "company.team", ["id"] = "hello" };

    private static McpClientOptions Answering(Func<ElicitRequestParams?, CancellationToken, ValueTask<ElicitResult>> answer, List<ElicitRequestParams?>? seen = null, string? protocolVersion = null) => new()
    {
        ProtocolVersion = protocolVersion,
        ClientInfo = new Implementation { Name = "test-agent", Version = "1" },
        Handlers = new McpClientHandlers
        {
            ElicitationHandler = (request, ct) =>
            {
                seen?.Add(request);
                return answer(request, ct);
            },
        },
    };

    private static ValueTask<ElicitResult> Accept(bool approve) => new(new ElicitResult
    {
        Action = "accept",
        Content = new Dictionary<string, JsonElement> { ["approve"] = JsonSerializer.SerializeToElement(approve) },
    });

    [TestCase(null)]
    [TestCase("2025-11-25")]
    public async Task CallTool_PersonApproves_ToolRunsAndIsCountedOnce(string? protocolVersion)
    {
        await using var host = new McpTestHost(ApprovalPolicy);
        var seen = new List<ElicitRequestParams?>();
        await using var client = await host.ConnectAsync(Answering((_, _) => Accept(true), seen, protocolVersion));

        var result = await client.CallToolAsync("execute_flow", Hello);

        result.IsError.Should().NotBe(true, result.Text());
        host.Flows.Runs("execute_flow").Should().Be(1);
        host.Store.Reservations.Should().Be(1);
        host.Store.Used("execute_rate", "grant-a").Should().Be(1);
        seen.Should().ContainSingle().Which!.Message.Should().Contain("execute_flow").And.Contain("company.team").And.Contain("Runs a production workflow.");
    }

    [Test]
    public async Task CallTool_ApprovedButOverItsLimit_IsStillRefused()
    {
        await using var host = new McpTestHost(ApprovalPolicy);
        await using var client = await host.ConnectAsync(Answering((_, _) => Accept(true)));
        await client.CallToolAsync("execute_flow", Hello);

        var second = await client.CallToolAsync("execute_flow", Hello);

        second.Text().Should().StartWith("[POLICY DENIED]").And.Contain("/tools/execute_flow/limits/0");
        host.Flows.Runs("execute_flow").Should().Be(1);
    }

    [TestCase("decline", "declined", null)]
    [TestCase("cancel", "cancelled", null)]
    [TestCase("decline", "declined", "2025-11-25")]
    [TestCase("cancel", "cancelled", "2025-11-25")]
    public async Task CallTool_PersonDeclinesOrCancels_IsRefusedWithTheReason(string action, string words, string? protocolVersion)
    {
        await using var host = new McpTestHost(ApprovalPolicy);
        await using var client = await host.ConnectAsync(Answering((_, _) => new(new ElicitResult { Action = action }), protocolVersion: protocolVersion));

        var result = await client.CallToolAsync("execute_flow", Hello);

        result.Text().Should().StartWith("[POLICY DENIED]").And.Contain(words);
        host.Flows.Runs("execute_flow").Should().Be(0);
        host.Store.Reservations.Should().Be(0);
    }

    [Test]
    public async Task CallTool_AcceptedWithoutTickingApprove_IsRefused()
    {
        await using var host = new McpTestHost(ApprovalPolicy);
        await using var client = await host.ConnectAsync(Answering((_, _) => Accept(false)));

        var result = await client.CallToolAsync("execute_flow", Hello);

        result.Text().Should().StartWith("[POLICY DENIED]").And.Contain("did not tick");
        host.Flows.Runs("execute_flow").Should().Be(0);
    }

    [Test]
    public async Task CallTool_ClientWithoutElicitation_IsRefusedBecauseItCannotBeAsked()
    {
        await using var host = new McpTestHost(ApprovalPolicy);
        await using var client = await host.ConnectAsync();

        var result = await client.CallToolAsync("execute_flow", Hello);

        result.Text().Should().StartWith("[POLICY DENIED]").And.Contain("cannot be asked");
        host.Flows.Runs("execute_flow").Should().Be(0);
    }

    [TestCase(null)]
    [TestCase("2025-11-25")]
    public async Task CallTool_NobodyAnswersInTime_IsRefusedAsTimedOut(string? protocolVersion)
    {
        await using var host = new McpTestHost(ApprovalPolicy, o => o.ApprovalTimeout = TimeSpan.FromMinutes(2));
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var late = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var client = await host.ConnectAsync(Answering(async (_, ct) =>
        {
            asked.TrySetResult();
            try
            {
                // The person answers only after the time allowed (or the server gives up and cancels the prompt).
                await late.Task.WaitAsync(ct);
                return await Accept(true);
            }
            catch (OperationCanceledException)
            {
                return new ElicitResult { Action = "cancel" };
            }
        }, protocolVersion: protocolVersion));

        var call = client.CallToolAsync("execute_flow", Hello).AsTask();
        await asked.Task.WaitAsync(TimeSpan.FromSeconds(10));
        host.Time.Advance(TimeSpan.FromMinutes(2));
        late.SetResult();
        var result = await call.WaitAsync(TimeSpan.FromSeconds(10));

        result.Text().Should().StartWith("[POLICY DENIED]").And.Contain("120 s");
        host.Flows.Runs("execute_flow").Should().Be(0);
        host.Store.Reservations.Should().Be(0);
    }

    [Test]
    public async Task CallTool_HostApprover_ReplacesElicitation()
    {
        var approver = new RecordingApprover(ApprovalResult.Refused("The on-call engineer said no."));
        await using var host = new McpTestHost(ApprovalPolicy, o => o.ApprovalHandler = approver);
        await using var client = await host.ConnectAsync();

        var result = await client.CallToolAsync("execute_flow", Hello);

        result.Text().Should().Contain("The on-call engineer said no.");
        approver.Calls.Should().ContainSingle().Which.Call.Caller.AgentId.Should().Be("test-agent");
    }

    [TestCase(null)]
    [TestCase("2025-11-25")]
    public async Task CallTool_ApprovalThroughInputRequests_RerunsThePipelineAndCountsOnce(string? protocolVersion)
    {
        // The multi-round-trip path that stateless HTTP uses: the call is answered with an input request, and
        // the whole filter pipeline runs again with the answer. The limit is 1, so a double count would refuse it.
        await using var host = new McpTestHost(ApprovalPolicy, o => o.ApprovalRoundTrip = ApprovalRoundTrip.InputRequests);
        var seen = new List<ElicitRequestParams?>();
        await using var client = await host.ConnectAsync(Answering((_, _) => Accept(true), seen, protocolVersion));

        var result = await client.CallToolAsync("execute_flow", Hello);

        result.IsError.Should().NotBe(true, result.Text());
        seen.Should().ContainSingle();
        host.Flows.Runs("execute_flow").Should().Be(1);
        host.Store.Reservations.Should().Be(2, "the call reserved once, and its approval was used up once");
        host.Store.Used("execute_rate", "grant-a").Should().Be(1);
        host.Store.Used(PolicyLayer.Gate.ApprovalTickets.NonceCounterName).Should().Be(1);
    }

    [TestCase(null)]
    [TestCase("2025-11-25")]
    public async Task CallTool_ApprovalThroughInputRequestsDeclined_IsRefusedAndCountsNothing(string? protocolVersion)
    {
        await using var host = new McpTestHost(ApprovalPolicy, o => o.ApprovalRoundTrip = ApprovalRoundTrip.InputRequests);
        await using var client = await host.ConnectAsync(Answering((_, _) => new(new ElicitResult { Action = "decline" }), protocolVersion: protocolVersion));

        var result = await client.CallToolAsync("execute_flow", Hello);

        result.Text().Should().StartWith("[POLICY DENIED]").And.Contain("declined");
        host.Store.Reservations.Should().Be(0);
    }

    [Test]
    public async Task ShadowMode_CallThatNeedsApproval_NobodyIsAskedAndItCountsAsTheApprovedCallItWouldHaveBeen()
    {
        var approver = new RecordingApprover(ApprovalResult.Refused("nobody should be asked"));
        await using var host = new McpTestHost(ApprovalPolicy, o => o.ApprovalHandler = approver);
        host.Evaluator.ShadowMode = true;
        await using var client = await host.ConnectAsync();

        var first = await client.CallToolAsync("execute_flow", Hello);
        var second = await client.CallToolAsync("execute_flow", Hello);

        first.IsError.Should().NotBe(true, first.Text());
        second.IsError.Should().NotBe(true, "shadow mode refuses nothing, not even a call over its limit: " + second.Text());
        approver.Calls.Should().BeEmpty();
        host.Flows.Runs("execute_flow").Should().Be(2);
        host.Store.Used("execute_rate", "grant-a").Should().Be(1, "the first call counted as approved; the second was over the limit of 1 and counted nothing");
    }

    private sealed class RecordingApprover(ApprovalResult answer) : IApprovalHandler
    {
        public List<ApprovalRequest> Calls { get; } = [];

        public ValueTask<ApprovalResult> RequestApprovalAsync(ApprovalRequest request, CancellationToken cancellationToken)
        {
            Calls.Add(request);
            return new(answer);
        }
    }
}
