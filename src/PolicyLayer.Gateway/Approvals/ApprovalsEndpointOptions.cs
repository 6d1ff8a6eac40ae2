namespace PolicyLayer.Gateway;

/// <summary>Options of the approvals inbox that <c>MapPolicyLayerApprovals</c> serves.</summary>
public sealed class ApprovalsEndpointOptions
{
    /// <summary>The default of <see cref="AuthorizationPolicy"/>.</summary>
    public const string DefaultAuthorizationPolicy = "PolicyLayerApprovers";

    /// <summary>
    /// The authorisation policy a person must satisfy to see the inbox and answer in it: approvers are not agents, so the
    /// host defines who they are (<c>AddAuthorization(o =&gt; o.AddPolicy("PolicyLayerApprovers", p =&gt; p.RequireRole("approver")))</c>).
    /// A policy the host did not define fails every request (closed).
    /// </summary>
    /// <value>The default value is <c>"PolicyLayerApprovers"</c>.</value>
    public string AuthorizationPolicy { get; set; } = DefaultAuthorizationPolicy;

    /// <summary>How often the page asks for changes, in milliseconds: it updates without being reloaded. At least 250.</summary>
    /// <value>The default value is 2,000.</value>
    public int RefreshMilliseconds { get; set; } = 2000;
}
