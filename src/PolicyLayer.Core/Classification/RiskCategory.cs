namespace PolicyLayer;

/// <summary>What kind of effect a tool has. The policy's <c>risk</c> section has rules per category.</summary>
public enum RiskCategory
{
    /// <summary>No side effects: reads, lists, searches.</summary>
    Read = 0,

    /// <summary>Creates or changes data, reversibly.</summary>
    Write = 1,

    /// <summary>Runs code, commands, queries or workflows with open-ended effects.</summary>
    Execute = 2,

    /// <summary>Deletes or changes data irreversibly.</summary>
    Destructive = 3,

    /// <summary>Moves money, charges, refunds, or changes billing.</summary>
    Financial = 4,
}

/// <summary>How much harm a tool can do.</summary>
public enum RiskLevel
{
    /// <summary>Little harm possible (the level of <see cref="RiskCategory.Read"/>).</summary>
    Low = 0,

    /// <summary>Reversible harm (the level of <see cref="RiskCategory.Write"/>).</summary>
    Medium = 1,

    /// <summary>Open-ended harm (the level of <see cref="RiskCategory.Execute"/>).</summary>
    High = 2,

    /// <summary>Irreversible harm (the level of <see cref="RiskCategory.Destructive"/> and <see cref="RiskCategory.Financial"/>).</summary>
    Critical = 3,
}
