namespace PolicyLayer;

/// <summary>
/// A tool's MCP annotations. MCP treats them as untrusted hints: the classifier weighs them with
/// the tool's name, description and schema, and never lets a hint make a deleting tool Read.
/// </summary>
public sealed class ToolAnnotations
{
    /// <summary>A human-readable title for the tool.</summary>
    public string? Title { get; init; }

    /// <summary>The tool does not modify its environment. MCP's default when absent: <see langword="false"/>.</summary>
    public bool? ReadOnlyHint { get; init; }

    /// <summary>The tool may perform destructive updates. MCP's default when absent: <see langword="true"/>.</summary>
    public bool? DestructiveHint { get; init; }

    /// <summary>Calling the tool again with the same arguments has no further effect. MCP's default: <see langword="false"/>.</summary>
    public bool? IdempotentHint { get; init; }

    /// <summary>The tool interacts with an open world of external entities. MCP's default: <see langword="true"/>.</summary>
    public bool? OpenWorldHint { get; init; }
}
