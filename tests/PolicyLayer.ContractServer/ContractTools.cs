using System.ComponentModel;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace PolicyLayer.ContractServer;

/// <summary>
/// The tools every host of the contract suite puts behind its policy. Each call is recorded in the server's
/// <see cref="ContractLog"/> as it starts, so that a test can wait until a tool really started.
/// </summary>
[McpServerToolType]
public sealed class ContractTools(ContractLog log)
{

    [McpServerTool(Name = "read_note", ReadOnly = true), Description("Read the note.")]
    public string ReadNote() => Start("read_note", "the note");

    [McpServerTool(Name = "add_labels", Destructive = false, Idempotent = true), Description("Add labels to an execution.")]
    public string AddLabels(int n = 1) => Start("add_labels", $"labeled {n}");

    [McpServerTool(Name = "refund", Destructive = false), Description("Refund an amount to a customer.")]
    public string Refund(long amount, string? reason = null, Dictionary<string, int>? details = null) =>
        Start("refund", $"refunded {amount}");

    [McpServerTool(Name = "execute_flow", Destructive = true, OpenWorld = true), Description("Run a flow in production now.")]
    public string ExecuteFlow(string id) => Start("execute_flow", $"executed {id}");

    [McpServerTool(Name = "fail_tool", Destructive = false), Description("Write to a backend that is down.")]
    public CallToolResult FailTool()
    {
        Start("fail_tool", string.Empty);
        return new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = "backend said no" }] };
    }

    [McpServerTool(Name = "slow_write", Destructive = false), Description("Write something slowly.")]
    public async Task<string> SlowWrite(CancellationToken cancellationToken)
    {
        Start("slow_write", string.Empty);
        await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
        return "written";
    }

    [McpServerTool(Name = "wipe", Destructive = true), Description("Wipe all data.")]
    public string Wipe() => Start("wipe", "wiped");

    [McpServerTool(Name = "secret_tool", Destructive = false), Description("A tool the policy hides.")]
    public string SecretTool() => Start("secret_tool", "secret");

    [McpServerTool(Name = "grant_tool", Destructive = false), Description("A tool limited per grant.")]
    public string GrantTool() => Start("grant_tool", "granted");

    private string Start(string tool, string result)
    {
        log.Record(tool);
        return result;
    }
}
