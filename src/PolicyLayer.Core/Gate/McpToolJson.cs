using System.Text.Json;

namespace PolicyLayer.Gate;

/// <summary>The MCP tool → <see cref="ToolDescriptor"/> mapping, for every host: from a tool object as tools/list carries it.</summary>
internal static class McpToolJson
{
    /// <summary>
    /// One MCP tool object: name, description, annotations and inputSchema; other fields are ignored.
    /// <see langword="null"/> when it is not an object or has no usable name (and none is given).
    /// </summary>
    public static ToolDescriptor? ReadDescriptor(JsonElement tool, string? knownName = null)
    {
        if (tool.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var toolName = knownName;
        if (toolName is null)
        {
            if (!tool.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || !TryGetString(name, out var named) || named.Length == 0)
            {
                return null;
            }

            toolName = named;
        }

        var description = tool.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String && TryGetString(d, out var text) ? text : null;
        ToolAnnotations? annotations = null;
        if (tool.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object)
        {
            annotations = new ToolAnnotations
            {
                Title = a.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String && TryGetString(t, out var title) ? title : null,
                ReadOnlyHint = Flag(a, "readOnlyHint"),
                DestructiveHint = Flag(a, "destructiveHint"),
                IdempotentHint = Flag(a, "idempotentHint"),
                OpenWorldHint = Flag(a, "openWorldHint"),
            };
        }

        JsonElement? schema = tool.TryGetProperty("inputSchema", out var s) && s.ValueKind == JsonValueKind.Object ? s.Clone() : null;
        return new ToolDescriptor(toolName, description, annotations, schema);
    }

    private static bool? Flag(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;

    private static bool TryGetString(JsonElement element, out string value)
    {
        try
        {
            value = element.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            // An escape that is not valid UTF-16, such as a lone surrogate.
            value = string.Empty;
            return false;
        }
    }
}
