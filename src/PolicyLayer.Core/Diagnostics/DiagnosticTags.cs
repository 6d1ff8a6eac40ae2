namespace PolicyLayer.Diagnostics;

/// <summary>Tag names and their values, interned once so that recording a decision allocates nothing.</summary>
internal static class DiagnosticTags
{
    public const string ToolName = "policylayer.tool.name";
    public const string Outcome = "policylayer.outcome";
    public const string Rule = "policylayer.rule";
    public const string PolicyRevision = "policylayer.policy.revision";
    public const string RiskCategory = "policylayer.risk.category";
    public const string RiskLevel = "policylayer.risk.level";
    public const string Shadowed = "policylayer.shadowed";
    public const string Reason = "policylayer.reason";
    public const string RetryAfter = "policylayer.retry_after";
    public const string ErrorType = "error.type";
    public const string FailureMode = "policylayer.counter_store.failure_mode";

    // Boxed once: a bool tag value would otherwise box on every measurement.
    public static readonly object True = true;
    public static readonly object False = false;

    private static readonly string[] Categories = ["read", "write", "execute", "destructive", "financial"];
    private static readonly string[] Levels = ["low", "medium", "high", "critical"];

    public static object Bool(bool value) => value ? True : False;

    /// <summary>The policy's verdict: for a shadowed decision, the outcome it would have enforced.</summary>
    public static PolicyOutcome Verdict(in PolicyDecision decision) => decision.ShadowedOutcome ?? decision.Outcome;

    public static string OutcomeName(PolicyOutcome outcome) => outcome switch
    {
        PolicyOutcome.Allow => "allow",
        PolicyOutcome.RequireApproval => "require_approval",
        _ => "deny",
    };

    public static string CategoryName(RiskProfile? risk) =>
        risk is not null && (uint)risk.Category < (uint)Categories.Length ? Categories[(int)risk.Category] : "unknown";

    public static string LevelName(RiskProfile? risk) =>
        risk is not null && (uint)risk.Level < (uint)Levels.Length ? Levels[(int)risk.Level] : "unknown";

    public static string FailureModeName(CounterStoreFailureMode mode) =>
        mode == CounterStoreFailureMode.FailOpen ? "fail_open" : "fail_closed";
}
