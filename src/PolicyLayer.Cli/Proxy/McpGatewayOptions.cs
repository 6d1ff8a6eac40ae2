namespace PolicyLayer.Cli.Proxy;

/// <summary>Options of the stdio gateway.</summary>
internal sealed class McpGatewayOptions
{
    /// <summary>The default of <see cref="MaxMessageBytes"/>: 4 MiB.</summary>
    public const int DefaultMaxMessageBytes = 4 * 1024 * 1024;

    /// <summary>The default of <see cref="ToolListTimeout"/>: 10 seconds.</summary>
    public static readonly TimeSpan DefaultToolListTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The grant (credential) every call of this session is counted under; keys the <c>grant</c> scope.</summary>
    /// <value>The default value is <see langword="null"/>: limits of <c>grant</c> scope refuse every call.</value>
    public string? GrantId { get; set; }

    /// <summary>The session id that keys the <c>session</c> scope: one proxy process is one session.</summary>
    /// <value>The default value is a new GUID.</value>
    public string SessionId { get; set; } = Guid.NewGuid().ToString("N");

    /// <summary>The longest line the client may send, in bytes without the newline; a longer one is refused.</summary>
    /// <value>The default value is 4 MiB.</value>
    public int MaxMessageBytes { get; set; } = DefaultMaxMessageBytes;

    /// <summary>How long the person at the client has to answer an approval request.</summary>
    /// <value>The default value is 2 minutes.</value>
    public TimeSpan ApprovalTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long the server has to answer the proxy's own tools/list before a call is refused.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan ToolListTimeout { get; set; } = DefaultToolListTimeout;

    /// <summary>
    /// Shadow mode: every call is decided, counted and audited as usual, but nothing the policy decides is refused,
    /// tools/list is passed on unfiltered, and nobody is asked for an approval (the call is decided again as approved,
    /// so that it counts as an approved call would). The audit log marks each line <c>"shadowed":true</c> with the
    /// outcome that would have applied. Messages that are not valid MCP are still refused: they are not the policy's.
    /// </summary>
    /// <value>The default value is <see langword="false"/>. The CLI also puts the evaluator in shadow mode, so that its logs and metrics say so.</value>
    public bool ShadowMode { get; set; }

    /// <summary>
    /// Whether the evaluator's policy can change during the session (<c>--watch</c>), so that the client is told when a
    /// new version changes which tools it would list: the initialize result the client gets declares
    /// <c>capabilities.tools.listChanged</c>, and <see cref="McpStdioGateway.OnPolicyReloaded"/> sends
    /// <c>notifications/tools/list_changed</c> when a tool the client has seen in a tools/list is now shown or hidden.
    /// </summary>
    /// <value>The default value is <see langword="false"/>. Ignored in <see cref="ShadowMode"/>, where nothing is hidden.</value>
    public bool AnnounceToolListChanges { get; set; }

    /// <summary>The clock of time-outs and audit timestamps.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where one JSON line per decision is written.</summary>
    /// <value>The default value is <see langword="null"/>: no audit log.</value>
    public TextWriter? AuditLog { get; set; }

    /// <summary>Where the proxy's own diagnostics go (the CLI passes standard error).</summary>
    /// <value>The default value is <see langword="null"/>: none.</value>
    public TextWriter? Diagnostics { get; set; }
}
