using System.Runtime.CompilerServices;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using PolicyLayer.Gate;

namespace PolicyLayer.Mcp;

/// <summary>
/// Maps the SDK's tool definitions to PolicyLayer descriptors, once per tool definition, through the gate's one
/// MCP tool mapping (<see cref="McpToolJson"/>): the SDK's tool as it goes on the wire, read as a relay reads it.
/// </summary>
internal static class ToolDescriptors
{
    private static readonly ConditionalWeakTable<Tool, ToolDescriptor> Cache = new();

    public static ToolDescriptor Get(Tool tool) => Cache.GetValue(tool, Create);

    private static ToolDescriptor Create(Tool tool) =>
        McpToolJson.ReadDescriptor(JsonSerializer.SerializeToElement(tool, McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(Tool))), tool.Name)!;
}
