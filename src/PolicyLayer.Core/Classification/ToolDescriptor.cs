using System.Text.Json;

namespace PolicyLayer;

/// <summary>What a server says about one of its tools: name, description, annotations and input schema.</summary>
public sealed class ToolDescriptor
{
    /// <summary>Creates a descriptor.</summary>
    /// <param name="name">The tool's name.</param>
    /// <param name="description">The tool's description, if any.</param>
    /// <param name="annotations">The tool's MCP annotations, if any.</param>
    /// <param name="inputSchema">The tool's input JSON Schema, if known.</param>
    public ToolDescriptor(string name, string? description = null, ToolAnnotations? annotations = null, JsonElement? inputSchema = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Description = description;
        Annotations = annotations;
        InputSchema = inputSchema;
    }

    /// <summary>The tool's name.</summary>
    public string Name { get; }

    /// <summary>The tool's description.</summary>
    public string? Description { get; }

    /// <summary>The tool's MCP annotations.</summary>
    public ToolAnnotations? Annotations { get; }

    /// <summary>The tool's input JSON Schema.</summary>
    public JsonElement? InputSchema { get; }

    /// <inheritdoc />
    public override string ToString() => Name;
}
