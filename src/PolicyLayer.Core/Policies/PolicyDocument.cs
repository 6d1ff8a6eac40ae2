using PolicyLayer.Policies;

namespace PolicyLayer;

/// <summary>
/// A loaded, validated and compiled policy document. Immutable: every rule is checked when it loads (a tool's rule is
/// built from its checked text the first time a call matches it, once), and a reload builds a new document that replaces
/// the old one atomically.
/// </summary>
public sealed partial class PolicyDocument
{
    private PolicyDocument(CompiledPolicy compiled, string? sourcePath)
    {
        Compiled = compiled;
        SourcePath = sourcePath;
    }

    /// <summary>The document's schema version, such as <c>"1"</c>.</summary>
    public string Version => Compiled.Version;

    /// <summary>
    /// The document's revision: its declared <c>revision</c> field, else the first 12 hex digits of the SHA-256 of its
    /// content written without insignificant whitespace. Every decision, log event, trace and audit line names it.
    /// </summary>
    public string Revision => Compiled.Revision;

    /// <summary>The file the document was loaded from, or <see langword="null"/> when parsed from text.</summary>
    public string? SourcePath { get; }

    /// <summary>The action for a tool that no rule matches.</summary>
    public PolicyAction Default => Compiled.DefaultAction;

    /// <summary>Every counter the document defines, each once, in document order.</summary>
    public IReadOnlyList<CounterDefinition> Counters => Compiled.Counters;

    internal CompiledPolicy Compiled { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"policy v{Version} revision {Revision}{(SourcePath is null ? "" : " from " + SourcePath)}: {Compiled.RuleCount} tool rules, {Counters.Count} counters, default {Default}";
}
