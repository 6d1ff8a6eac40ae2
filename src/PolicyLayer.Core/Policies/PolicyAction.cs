namespace PolicyLayer;

/// <summary>The action a policy rule, a risk rule or the document's <c>default</c> prescribes.</summary>
public enum PolicyAction
{
    /// <summary>Refuse the call.</summary>
    Deny = 0,

    /// <summary>Let the call go ahead, subject to its conditions and limits.</summary>
    Allow = 1,

    /// <summary>Hold the call until a person approves it.</summary>
    RequireApproval = 2,
}
