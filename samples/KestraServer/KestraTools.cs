using System.ComponentModel;
using ModelContextProtocol.Server;

namespace KestraServer;

/// <summary>Kestra-like workflow tools over an in-memory store; each call is logged to stderr.</summary>
[McpServerToolType]
public sealed class KestraTools(FlowStore store)
{
    [McpServerTool(Name = "list_flows", ReadOnly = true), Description("List the flows of a namespace.")]
    public IReadOnlyList<string> ListFlows([Description("The namespace, such as company.team.")] string @namespace) =>
        store.Record("list_flows").List(@namespace);

    [McpServerTool(Name = "get_flow", ReadOnly = true), Description("Get the YAML source of a flow.")]
    public string GetFlow(string @namespace, string id) =>
        store.Record("get_flow").Get(@namespace, id) ?? throw new InvalidOperationException($"No flow {@namespace}.{id}.");

    [McpServerTool(Name = "create_flow", Destructive = false), Description("Create a flow from its YAML source.")]
    public string CreateFlow(string @namespace, string id, string source) =>
        store.Record("create_flow").Create(@namespace, id, source);

    [McpServerTool(Name = "delete_flow", Destructive = true), Description("Delete a flow and its execution history.")]
    public string DeleteFlow(string @namespace, string id) =>
        store.Record("delete_flow").Delete(@namespace, id);

    [McpServerTool(Name = "execute_flow", Destructive = true, OpenWorld = true), Description("Run a flow in production now.")]
    public string ExecuteFlow(string @namespace, string id, [Description("Why the flow should run now.")] string? reason = null) =>
        store.Record("execute_flow").Execute(@namespace, id) + (reason is null ? "" : $" Reason: {reason}");

    [McpServerTool(Name = "backfill_flow", Destructive = false, OpenWorld = true), Description("Start executions of a flow for past schedule dates (a backfill).")]
    public string BackfillFlow(string @namespace, string id, [Description("How many past dates to run.")] int executions) =>
        store.Record("backfill_flow").Backfill(@namespace, id, executions);

    [McpServerTool(Name = "add_execution_labels", Destructive = false, Idempotent = true), Description("Add labels to an execution.")]
    public string AddExecutionLabels(string executionId, Dictionary<string, string> labels) =>
        store.Record("add_execution_labels").Label(executionId, labels);
}
