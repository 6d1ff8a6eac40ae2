using System.Text.Json;
using PolicyLayer.Gate;

namespace PolicyLayer.Cli.Common;

/// <summary>Reads MCP tool objects (as in a tools/list result) into descriptors, for the commands and the proxy alike.</summary>
internal static class ToolJson
{
    /// <summary>
    /// One MCP tool object: name, description, annotations and inputSchema; other fields are ignored.
    /// <see langword="null"/> when it is not an object or has no usable name (and none is given).
    /// </summary>
    public static ToolDescriptor? ReadDescriptor(JsonElement tool, string? knownName = null) => McpToolJson.ReadDescriptor(tool, knownName);
}
