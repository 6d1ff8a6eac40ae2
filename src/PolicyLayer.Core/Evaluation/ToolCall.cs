using System.Text.Json;

namespace PolicyLayer;

/// <summary>One call of a tool by an agent, as the evaluator sees it.</summary>
public sealed class ToolCall
{
    /// <summary>Creates a call of <paramref name="toolName"/> by <paramref name="caller"/>.</summary>
    /// <param name="toolName">The name of the tool being called.</param>
    /// <param name="caller">Who is calling; <see cref="CallerIdentity.Anonymous"/> when unknown.</param>
    /// <param name="arguments">The call's arguments, as the MCP <c>tools/call</c> request carries them.</param>
    /// <param name="tool">The tool's descriptor when the host knows it; it refines risk classification.</param>
    public ToolCall(
        string toolName,
        CallerIdentity? caller = null,
        IReadOnlyDictionary<string, JsonElement>? arguments = null,
        ToolDescriptor? tool = null)
    {
        ArgumentNullException.ThrowIfNull(toolName);
        ToolName = toolName;
        Caller = caller ?? CallerIdentity.Anonymous;
        Arguments = arguments;
        Tool = tool;
    }

    /// <summary>The name of the tool being called.</summary>
    public string ToolName { get; }

    /// <summary>Who is calling.</summary>
    public CallerIdentity Caller { get; }

    /// <summary>The call's arguments, or <see langword="null"/> when it has none.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Arguments { get; }

    /// <summary>The tool's descriptor (description, annotations, input schema) when known.</summary>
    public ToolDescriptor? Tool { get; }

    /// <summary>
    /// Whether a person already approved this call. An approved call skips the approval step
    /// but still obeys every other rule and limit. Only the host sets this, never the agent.
    /// </summary>
    public bool IsApproved { get; init; }
}
