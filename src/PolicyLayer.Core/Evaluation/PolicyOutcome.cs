namespace PolicyLayer;

/// <summary>What the policy decided for one tool call.</summary>
/// <remarks><see cref="Deny"/> is the zero value, so a default <see cref="PolicyDecision"/> refuses.</remarks>
public enum PolicyOutcome
{
    /// <summary>The call is refused.</summary>
    Deny = 0,

    /// <summary>The call may go ahead.</summary>
    Allow = 1,

    /// <summary>The call may go ahead only once a person approves it.</summary>
    RequireApproval = 2,
}
