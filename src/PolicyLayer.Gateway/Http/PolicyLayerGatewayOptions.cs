namespace PolicyLayer.Gateway;

/// <summary>
/// Options of the HTTP gateway that <c>MapPolicyLayerGateway</c> serves: the server behind it, who may call, and the
/// bounds on sessions. Validated once, when the gateway is first used; the message names the option that is wrong.
/// </summary>
public sealed class PolicyLayerGatewayOptions
{
    /// <summary>The MCP server behind the gateway: <see cref="McpUpstream.Command"/> or <see cref="McpUpstream.Http"/>.</summary>
    /// <value>The default value is <see langword="null"/>, which is an error: set it.</value>
    public McpUpstream? Upstream { get; set; }

    /// <summary>
    /// The options every session starts from (message size, approval time-out, held approvals, pending requests, audit
    /// log, clock). <see cref="McpGatewayOptions.SessionId"/>, <see cref="McpGatewayOptions.GrantId"/>,
    /// <see cref="McpGatewayOptions.UserId"/> and <see cref="McpGatewayOptions.Claims"/> are set per session from the caller.
    /// </summary>
    /// <exception cref="ArgumentNullException">Set to <see langword="null"/>.</exception>
    public McpGatewayOptions Session
    {
        get => _session;
        set => _session = value ?? throw new ArgumentNullException(nameof(value));
    }

    private McpGatewayOptions _session = new();

    /// <summary>How many sessions may be open at once; a client that would open one more is answered 503.</summary>
    /// <value>The default value is 100.</value>
    public int MaxSessions { get; set; } = 100;

    /// <summary>How long a session may go without a request (and with none open) before it is ended, and its server with it.</summary>
    /// <value>The default value is 30 minutes.</value>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// A grants file: bearer tokens (stored as SHA-256 hashes) mapped to grant ids and, optionally, a policy file per
    /// grant (see the README's Gateway section). A client sends <c>Authorization: Bearer &lt;token&gt;</c>.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: no grant tokens.</value>
    public string? GrantsFile { get; set; }

    /// <summary>
    /// Whether the per-grant policy files of <see cref="GrantsFile"/> are watched as <c>PolicyLayerOptions.WatchPolicyFile</c>
    /// watches the gateway's own: a valid new version is put in force atomically for that grant's calls, an invalid one is
    /// refused (logged) and the last good version stays. Open sessions of the grant whose visible tool list changed are
    /// sent <c>notifications/tools/list_changed</c> when <see cref="McpGatewayOptions.AnnounceToolListChanges"/> is on.
    /// The grants file itself is read once.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool WatchGrantPolicies { get; set; }

    /// <summary>How often a watched per-grant policy file is looked at (see <see cref="WatchGrantPolicies"/>).</summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan GrantPolicyPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Accept callers whom the host's own ASP.NET Core authentication has authenticated (JWT bearer, for one): the user is
    /// the <see cref="UserClaim"/> claim, the grant the <see cref="GrantClaim"/> claim, and every claim reaches
    /// <c>caller.claims</c> conditions.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool AcceptAuthenticatedUsers { get; set; }

    /// <summary>The claim that names the user of an authenticated caller.</summary>
    /// <value>The default value is <c>sub</c>.</value>
    public string UserClaim { get; set; } = "sub";

    /// <summary>The claim that names the grant of an authenticated caller.</summary>
    /// <value>The default value is <c>grant_id</c>; a caller without it has no grant (limits of <c>grant</c> scope refuse its calls).</value>
    public string GrantClaim { get; set; } = "grant_id";

    /// <summary>
    /// For a trusted local setup only: a request with no credential at all is served under this grant. A credential
    /// that is presented and not valid is still refused.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: every request needs a credential.</value>
    public string? TrustedGrant { get; set; }

    /// <summary>The authorization servers named in the protected-resource metadata that a 401 points to.</summary>
    public IList<Uri> AuthorizationServers { get; } = [];

    /// <summary>
    /// Browser origins allowed besides the gateway's own host: a request with an <c>Origin</c> header naming another
    /// origin is refused with 403 (MCP's defence against DNS rebinding).
    /// </summary>
    public IList<string> AllowedOrigins { get; } = [];

    /// <summary>Checks the options; the message names the option that is wrong.</summary>
    /// <exception cref="ArgumentException">An option is missing or out of range.</exception>
    internal void Validate()
    {
        Require(Upstream is not null, nameof(Upstream), "set (McpUpstream.Command or McpUpstream.Http)");
        Require(MaxSessions >= 1, nameof(MaxSessions), "at least 1");
        Require(IdleTimeout > TimeSpan.Zero && IdleTimeout <= TimeSpan.FromDays(1), nameof(IdleTimeout), "positive and at most one day");
        Require(GrantsFile is not null || AcceptAuthenticatedUsers || TrustedGrant is not null, nameof(GrantsFile), "set, or AcceptAuthenticatedUsers or TrustedGrant: the gateway serves nobody it cannot name");
        Require(GrantPolicyPollInterval > TimeSpan.Zero && GrantPolicyPollInterval <= TimeSpan.FromDays(1), nameof(GrantPolicyPollInterval), "positive and at most one day");
        Require(TrustedGrant is null || TrustedGrant.Length > 0, nameof(TrustedGrant), "a non-empty grant id");
        Require(!string.IsNullOrEmpty(UserClaim), nameof(UserClaim), "a claim type");
        Require(!string.IsNullOrEmpty(GrantClaim), nameof(GrantClaim), "a claim type");
        Session.Validate();
    }

    private static void Require(bool valid, string option, string what)
    {
        if (!valid)
        {
            throw new ArgumentException($"PolicyLayerGatewayOptions.{option} must be {what}.", option);
        }
    }
}
