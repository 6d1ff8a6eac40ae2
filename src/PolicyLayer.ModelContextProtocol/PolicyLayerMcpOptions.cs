namespace PolicyLayer.Mcp;

/// <summary>Options of the PolicyLayer middleware for an MCP server, set through <c>WithPolicyLayer</c>.</summary>
public sealed class PolicyLayerMcpOptions
{
    /// <summary>The path of the policy file to load at start-up. Ignored when <see cref="Policy"/> is set.</summary>
    /// <value>The default value is <see langword="null"/>: one of <see cref="PolicyPath"/> and <see cref="Policy"/> must be set.</value>
    public string? PolicyPath { get; set; }

    /// <summary>A policy document already loaded; takes precedence over <see cref="PolicyPath"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public PolicyDocument? Policy { get; set; }

    /// <summary>
    /// Whether <see cref="PolicyPath"/> is watched: a valid new version of the file is put in force atomically (calls in
    /// flight finish under the old one), an invalid one is refused with its errors logged and the last good version stays.
    /// When what tools/list shows changes, clients are sent <c>notifications/tools/list_changed</c>.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool WatchPolicyFile { get; set; }

    /// <summary>
    /// Evaluates, logs and counts every call, but refuses nothing and hides no tool: for rolling out a new policy.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ShadowMode { get; set; }

    /// <summary>What a call gets when the counter store fails (such as Redis being down).</summary>
    /// <value>The default value is <see cref="CounterStoreFailureMode.FailClosed"/>: the call is refused.</value>
    public CounterStoreFailureMode CounterStoreFailureMode { get; set; } = CounterStoreFailureMode.FailClosed;

    /// <summary>Where counters live, such as a Redis store shared by several server instances.</summary>
    /// <value>The default value is <see langword="null"/>: a <see cref="CounterStore"/> registered in the services, else an in-memory store.</value>
    public CounterStore? CounterStore { get; set; }

    /// <summary>Decides calls that the policy holds for approval.</summary>
    /// <value>The default value is <see langword="null"/>: the built-in approver asks the person at the client through MCP elicitation.</value>
    public IApprovalHandler? ApprovalHandler { get; set; }

    /// <summary>Tells who is calling.</summary>
    /// <value>The default value is <see langword="null"/>: the built-in resolver described in the README (session, client name, authenticated user, grant claim).</value>
    public ICallerIdentityResolver? IdentityResolver { get; set; }

    /// <summary>
    /// Whether tools/list also leaves out the tools the policy denies outright (by name, glob, <c>risk</c> rule or
    /// <c>default: deny</c>), so an agent is not tempted by what it may not call. Tools the policy hides
    /// (<c>hide</c>) are left out whatever this says; every denied or hidden tool is refused when called.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool FilterToolsList { get; set; } = true;

    /// <summary>
    /// The claim of the authenticated user that names the person behind the call (the <c>user</c> scope), over HTTP.
    /// </summary>
    /// <value>
    /// The default value is <see langword="null"/>: the name identifier claim, else <c>sub</c>, else the identity's name.
    /// </value>
    public string? UserClaimType { get; set; }

    /// <summary>The claim of the authenticated user that carries the grant (the credential the agent uses), over HTTP.</summary>
    /// <value>The default value is <c>"policylayer_grant"</c>.</value>
    public string GrantClaimType { get; set; } = "policylayer_grant";

    /// <summary>
    /// The grant of callers whose principal carries no grant claim, such as every caller of a stdio server
    /// (whose credential is the one the server process was started with).
    /// </summary>
    /// <value>The default value is <see langword="null"/>: such callers have no grant, and <c>grant</c>-scoped limits refuse their calls.</value>
    public string? DefaultGrantId { get; set; }

    /// <summary>
    /// How long the built-in approver waits for the person at the client before refusing the call; through input
    /// requests, how long an approval stays valid. Positive and at most one day, else building the server throws.
    /// </summary>
    /// <value>The default value is 5 minutes.</value>
    public TimeSpan ApprovalTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How the built-in approver reaches the person at the client.</summary>
    /// <value>The default value is <see cref="ApprovalRoundTrip.Auto"/>.</value>
    public ApprovalRoundTrip ApprovalRoundTrip { get; set; } = ApprovalRoundTrip.Auto;

    /// <summary>
    /// The key that signs the approval state a client echoes back in a multi-round-trip request, so that an
    /// approval given for one call cannot be moved to another. Servers that share stateless HTTP traffic must share it,
    /// and the counter store too, which records each approval as used so that it allows one call on any of them.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: a random 32-byte key per process.</value>
    public ReadOnlyMemory<byte>? ApprovalSigningKey { get; set; }
}

/// <summary>How the built-in approver asks the person at the client.</summary>
public enum ApprovalRoundTrip
{
    /// <summary>
    /// <see cref="Elicitation"/> on a session that can carry a server-to-client request (stdio, stateful HTTP);
    /// <see cref="InputRequests"/> on a request over Streamable HTTP without a session (stateless mode, or a
    /// <c>2026-07-28</c> request served statelessly), where it cannot. A client there whose protocol version has no
    /// input requests (<c>2025-11-25</c> and earlier) cannot be asked, and its calls are refused with that reason.
    /// </summary>
    Auto = 0,

    /// <summary>Sends an <c>elicitation/create</c> request and waits for the answer while the call is held.</summary>
    Elicitation = 1,

    /// <summary>
    /// Answers the call with an input-required result (MCP multi-round-trip requests) carrying the elicitation; the client
    /// retries the call with the answer. The retry is decided afresh, only the approved round counts, and each
    /// approval allows one call: sending the approved retry again is refused.
    /// </summary>
    InputRequests = 2,
}
