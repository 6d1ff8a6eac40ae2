namespace PolicyLayer;

/// <summary>
/// Classifies MCP tools by risk from their annotations, name, description and input schema.
/// </summary>
/// <remarks>
/// <para>
/// Each signal gives a reading (a category and a level): the name's verbs (every verb of a
/// compound such as <c>fetch_and_delete</c>), the description's, phrases of loss, the input schema.
/// MCP annotations are untrusted hints weighed with them: <c>readOnlyHint</c> never makes a tool
/// that deletes Read, and <c>destructiveHint</c> ("may perform non-additive updates", or just
/// mcp-go's default) makes an ordinary update Write at High rather than Destructive. Where readings
/// disagree the riskier one wins: the higher level, and between equal levels Financial, then
/// Destructive, then Execute, then Write, then Read. The evidence names the reading that decided
/// first, then the readings it overruled.
/// </para>
/// <para>
/// Classification is a pure function of the descriptor and costs a few microseconds; callers such
/// as <see cref="PolicyEvaluator"/> classify each distinct tool once and cache the result. A
/// policy's <c>classify</c> section overrides the result.
/// </para>
/// </remarks>
public class ToolRiskClassifier
{
    /// <summary>The built-in classifier.</summary>
    public static ToolRiskClassifier Default { get; } = new();

    /// <summary>Classifies one tool.</summary>
    /// <param name="tool">The tool's descriptor.</param>
    /// <returns>The tool's category and level, with the evidence that decided them.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="tool"/> is <see langword="null"/>.</exception>
    public virtual RiskProfile Classify(ToolDescriptor tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        return RiskRules.Classify(tool);
    }
}
