namespace PolicyLayer;

/// <summary>Classifies MCP tools by risk from their annotations, name, description and input schema.</summary>
public class ToolRiskClassifier
{
    /// <summary>The built-in classifier.</summary>
    public static ToolRiskClassifier Default { get; } = new();

    /// <summary>Classifies one tool.</summary>
    /// <param name="tool">The tool's descriptor.</param>
    /// <returns>The tool's category and level, with the evidence that decided them.</returns>
    public virtual RiskProfile Classify(ToolDescriptor tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        // Placeholder until the classifier lands: unknown tools are treated as Write.
        return new RiskProfile(RiskCategory.Write, RiskLevel.Medium, ["no classifier yet"]);
    }
}
