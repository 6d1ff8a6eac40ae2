using System.Runtime.CompilerServices;
using ModelContextProtocol.Protocol;

namespace PolicyLayer.Mcp;

/// <summary>Maps the SDK's tool definitions to PolicyLayer descriptors, once per tool definition.</summary>
internal static class ToolDescriptors
{
    private static readonly ConditionalWeakTable<Tool, ToolDescriptor> Cache = new();

    public static ToolDescriptor Get(Tool tool) => Cache.GetValue(tool, Create);

    private static ToolDescriptor Create(Tool tool) => new(
        tool.Name,
        tool.Description,
        tool.Annotations is { } a
            ? new PolicyLayer.ToolAnnotations
            {
                Title = a.Title,
                ReadOnlyHint = a.ReadOnlyHint,
                DestructiveHint = a.DestructiveHint,
                IdempotentHint = a.IdempotentHint,
                OpenWorldHint = a.OpenWorldHint,
            }
            : null,
        tool.InputSchema);
}
