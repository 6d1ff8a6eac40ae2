namespace PolicyLayer;

/// <summary>A tool's risk: its category, its level, and the evidence that decided them.</summary>
public sealed class RiskProfile
{
    /// <summary>Creates a profile.</summary>
    /// <param name="category">The category.</param>
    /// <param name="level">The level.</param>
    /// <param name="evidence">The signals that decided, in words a reviewer can check.</param>
    public RiskProfile(RiskCategory category, RiskLevel level, IReadOnlyList<string> evidence)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        Category = category;
        Level = level;
        Evidence = evidence;
    }

    /// <summary>What kind of effect the tool has.</summary>
    public RiskCategory Category { get; }

    /// <summary>How much harm it can do.</summary>
    public RiskLevel Level { get; }

    /// <summary>The signals that decided the category and level, strongest first.</summary>
    public IReadOnlyList<string> Evidence { get; }

    /// <summary>The level a category has unless evidence raises it.</summary>
    /// <param name="category">The category.</param>
    public static RiskLevel DefaultLevel(RiskCategory category) => category switch
    {
        RiskCategory.Read => RiskLevel.Low,
        RiskCategory.Write => RiskLevel.Medium,
        RiskCategory.Execute => RiskLevel.High,
        _ => RiskLevel.Critical,
    };

    /// <inheritdoc />
    public override string ToString() => $"{Category}, {Level}";
}
