namespace PolicyLayer;

/// <summary>
/// A loaded, validated and compiled policy document. Immutable: evaluation never re-reads JSON,
/// and a reload builds a new document that replaces the old one atomically.
/// </summary>
public sealed partial class PolicyDocument
{
    /// <summary>The document's schema version, such as <c>"1"</c>.</summary>
    public string Version { get; private init; } = "1";

    /// <summary>The file the document was loaded from, or <see langword="null"/> when parsed from text.</summary>
    public string? SourcePath { get; private init; }

    /// <summary>The action for a tool that no rule matches.</summary>
    public PolicyAction Default { get; private init; }

    /// <summary>Every counter the document defines, each once.</summary>
    public IReadOnlyList<CounterDefinition> Counters { get; private init; } = [];
}
