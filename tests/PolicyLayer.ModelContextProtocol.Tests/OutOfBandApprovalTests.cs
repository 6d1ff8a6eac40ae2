using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace PolicyLayer.ModelContextProtocol.Tests;

/// <summary>
/// Out-of-band approvals through the middleware, with the SDK's own client: a held call waits in the inbox with
/// progress notifications, or is refused with an approval id that the agent's retry brings in _meta.
/// </summary>
public sealed class OutOfBandApprovalTests
{
    private const string ApprovalOnly = """
        {
          "version": "1",
          "tools": {
            "execute_flow": { "action": "require_approval", "reason": "Runs a production workflow." }
          }
        }
        """;

    private static Dictionary<string, object?> Hello => new() { ["namespace"] = "company.team", ["id"] = "hello" };

    [Test]
    public async Task CallTool_RefusedWithAnApprovalId_RetriedWithItOnceApproved_RunsTheToolOnce()
    {
        await using var host = Host(ApprovalHoldMode.RefuseWithId);
        await using var client = await host.ConnectAsync();
        var inbox = host.Services.GetRequiredService<ApprovalInbox>();

        var held = await client.CallToolAsync("execute_flow", Hello);
        held.IsError.Should().BeTrue();
        var decision = held.Meta!["policylayer/decision"]!;
        decision["kind"]!.GetValue<string>().Should().Be("approval_pending");
        var id = decision["approvalId"]!.GetValue<string>();
        held.Text().Should().Contain(id);

        (await inbox.DecideAsync(id, approve: true, "bob", null)).Should().Be(ApprovalDecisionResult.Decided);
        var retried = await RetryAsync(client, id);
        var again = await RetryAsync(client, id);

        retried.IsError.Should().NotBe(true, retried.Text());
        again.IsError.Should().BeTrue();
        again.Text().Should().Contain("already used");
        host.Flows.Runs("execute_flow").Should().Be(1);
    }

    [Test]
    public async Task CallTool_WithAProgressToken_WaitsWithProgressNotifications_AndRunsOnceApproved()
    {
        await using var host = Host(ApprovalHoldMode.Auto);
        await using var client = await host.ConnectAsync();
        var inbox = host.Services.GetRequiredService<ApprovalInbox>();
        var progress = new ProgressRecorder();

        var call = client.CallToolAsync("execute_flow", Hello, progress).AsTask();
        var message = await progress.First.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var id = (await inbox.ListAsync()).Single().Id;
        message.Should().Contain(id);
        call.IsCompleted.Should().BeFalse("the call waits for a person");

        await inbox.DecideAsync(id, approve: true, "bob", "fine");
        var result = await call.WaitAsync(TimeSpan.FromSeconds(20));

        result.IsError.Should().NotBe(true, result.Text());
        host.Flows.Runs("execute_flow").Should().Be(1);
    }

    private static McpTestHost Host(ApprovalHoldMode mode) =>
        new(ApprovalOnly, beforePolicyLayer: builder => builder.Services.AddPolicyLayerApprovals(o => o.HoldMode = mode));

    private static Task<CallToolResult> RetryAsync(McpClient client, string id) =>
        client.CallToolAsync("execute_flow", Hello, options: new RequestOptions { Meta = new JsonObject { ["policylayer/approval"] = id } }).AsTask();

    private sealed class ProgressRecorder : IProgress<ProgressNotificationValue>
    {
        public TaskCompletionSource<string> First { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Report(ProgressNotificationValue value) => First.TrySetResult(value.Message ?? string.Empty);
    }
}
