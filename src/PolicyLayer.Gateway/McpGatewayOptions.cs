namespace PolicyLayer.Gateway;

/// <summary>
/// Options of a gateway session (<see cref="McpGatewaySession"/>). Shadow mode is the evaluator's
/// (<c>PolicyLayerOptions.ShadowMode</c>): the gateway then refuses nothing, passes tools/list on unfiltered and asks nobody.
/// </summary>
public sealed class McpGatewayOptions
{
    /// <summary>The default of <see cref="MaxMessageBytes"/>: 4 MiB.</summary>
    public const int DefaultMaxMessageBytes = 4 * 1024 * 1024;

    /// <summary>The default of <see cref="ToolListTimeout"/>: 10 seconds.</summary>
    public static readonly TimeSpan DefaultToolListTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The grant (credential) every call of this session is counted under; keys the <c>grant</c> scope.</summary>
    /// <value>The default value is <see langword="null"/>: limits of <c>grant</c> scope refuse every call.</value>
    public string? GrantId { get; set; }

    /// <summary>The user (the person behind the client) every call of this session is counted under; keys the <c>user</c> scope.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? UserId { get; set; }

    /// <summary>The caller's claims, for <c>caller.claims.&lt;type&gt;</c> conditions (from a validated token, over HTTP).</summary>
    /// <value>The default value is <see langword="null"/>: no claims.</value>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Claims { get; set; }

    /// <summary>The session id that keys the <c>session</c> scope: one stdio proxy process is one session.</summary>
    /// <value>The default value is a new GUID.</value>
    public string SessionId { get; set; } = Guid.NewGuid().ToString("N");

    /// <summary>The longest message the client may send, in bytes; a longer one is refused. The stdio front's line limit.</summary>
    /// <value>The default value is 4 MiB.</value>
    public int MaxMessageBytes { get; set; } = DefaultMaxMessageBytes;

    /// <summary>How long the person at the client has to answer an approval request.</summary>
    /// <value>The default value is 2 minutes.</value>
    public TimeSpan ApprovalTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Where calls held for approval wait for an out-of-band answer (the web inbox of <c>MapPolicyLayerApprovals</c>, a
    /// webhook) instead of an elicitation request to the client: they wait there with progress notifications, or are
    /// refused with an approval id the agent retries with, as the inbox's hold mode says.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: approvals are asked of the client through elicitation.</value>
    public ApprovalInbox? ApprovalInbox { get; set; }

    /// <summary>How many calls one session may hold waiting for approval at once; the next one is refused, with that reason.</summary>
    /// <value>The default value is 16.</value>
    public int MaxHeldApprovals { get; set; } = 16;

    /// <summary>How many bytes of held calls (their messages) one session may hold waiting for approval; past it, calls are refused.</summary>
    /// <value>The default value is 8 MiB.</value>
    public int MaxHeldApprovalBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// How many requests may be in flight in each direction at once (the client's awaiting the server's answer, the
    /// server's awaiting the client's); past it a request is refused with an error.
    /// </summary>
    /// <value>The default value is 1,024.</value>
    public int MaxPendingRequests { get; set; } = 1024;

    /// <summary>How long the server has to answer the gateway's own tools/list before a call is refused.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan ToolListTimeout { get; set; } = DefaultToolListTimeout;

    /// <summary>
    /// Whether the evaluator's policy can change during the session (a watched file), so that the client is told when a
    /// new version changes which tools it would list: the initialize result the client gets declares
    /// <c>capabilities.tools.listChanged</c>, and <see cref="McpGatewaySession.OnPolicyReloaded"/> sends
    /// <c>notifications/tools/list_changed</c> when a tool the client has seen in a tools/list is now shown or hidden.
    /// </summary>
    /// <value>The default value is <see langword="false"/>. Ignored when the evaluator is in shadow mode, where nothing is hidden.</value>
    public bool AnnounceToolListChanges { get; set; }

    /// <summary>The clock of time-outs and audit timestamps.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where one JSON line per decision is written.</summary>
    /// <value>The default value is <see langword="null"/>: no audit log.</value>
    public TextWriter? AuditLog { get; set; }

    /// <summary>
    /// Whether the audit log records each call's argument values (with <see cref="AuditRedactedArguments"/> replaced), so
    /// that <c>policylayer replay</c> can decide the recorded calls again under another policy. Values may hold secrets
    /// and personal data: turn this on knowingly, and redact what must not be kept.
    /// </summary>
    /// <value>The default value is <see langword="false"/>: only argument names are recorded.</value>
    public bool AuditArgumentValues { get; set; }

    /// <summary>
    /// Argument paths whose values the audit log replaces with <c>"[redacted]"</c> when <see cref="AuditArgumentValues"/> is
    /// on: a name (<c>password</c>), a dotted path (<c>card.number</c>), or <c>*.name</c> for that name at any depth.
    /// </summary>
    /// <value>The default value is an empty list.</value>
    public IList<string> AuditRedactedArguments { get; } = [];

    /// <summary>A copy of these options for one session of the HTTP gateway.</summary>
    internal McpGatewayOptions ForSession(string sessionId, string? grantId, string? userId, IReadOnlyDictionary<string, IReadOnlyList<string>>? claims) => new McpGatewayOptions
    {
        GrantId = grantId,
        UserId = userId,
        Claims = claims,
        SessionId = sessionId,
        MaxMessageBytes = MaxMessageBytes,
        ApprovalTimeout = ApprovalTimeout,
        MaxHeldApprovals = MaxHeldApprovals,
        MaxHeldApprovalBytes = MaxHeldApprovalBytes,
        MaxPendingRequests = MaxPendingRequests,
        ToolListTimeout = ToolListTimeout,
        AnnounceToolListChanges = AnnounceToolListChanges,
        TimeProvider = TimeProvider,
        AuditLog = AuditLog,
        AuditArgumentValues = AuditArgumentValues,
        ApprovalInbox = ApprovalInbox,
    }.WithRedacted(AuditRedactedArguments);

    private McpGatewayOptions WithRedacted(IList<string> paths)
    {
        foreach (var path in paths)
        {
            AuditRedactedArguments.Add(path);
        }

        return this;
    }

    /// <summary>Checks the options; the message names the option that is wrong.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    internal void Validate()
    {
        Require(MaxMessageBytes >= 1, nameof(MaxMessageBytes), "at least 1");
        Require(ApprovalTimeout > TimeSpan.Zero && ApprovalTimeout <= TimeSpan.FromDays(1), nameof(ApprovalTimeout), "positive and at most one day");
        Require(ToolListTimeout > TimeSpan.Zero, nameof(ToolListTimeout), "positive");
        Require(MaxHeldApprovals >= 0, nameof(MaxHeldApprovals), "0 or more");
        Require(MaxHeldApprovalBytes >= 0, nameof(MaxHeldApprovalBytes), "0 or more");
        Require(MaxPendingRequests >= 1, nameof(MaxPendingRequests), "at least 1");
        Require(!string.IsNullOrEmpty(SessionId), nameof(SessionId), "a non-empty string");
        Require(TimeProvider is not null, nameof(TimeProvider), "set");
    }

    private static void Require(bool valid, string option, string what)
    {
        if (!valid)
        {
            throw new ArgumentException($"McpGatewayOptions.{option} must be {what}.", option);
        }
    }
}
