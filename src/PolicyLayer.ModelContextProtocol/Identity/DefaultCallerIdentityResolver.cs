using System.Security.Claims;
using ModelContextProtocol.Server;

namespace PolicyLayer.Mcp;

/// <summary>
/// The built-in resolver: session from the SDK's session id (one id per server connection where the transport
/// has none, as on stdio; none at all for a request over Streamable HTTP without a session), agent from the
/// client's self-reported name, user and grant from the authenticated principal's claims (the grant else the
/// configured default).
/// </summary>
internal sealed class DefaultCallerIdentityResolver : ICallerIdentityResolver
{
    private readonly string _connectionId = "conn-" + Guid.NewGuid().ToString("N");
    private readonly string? _userClaimType;
    private readonly string _grantClaimType;
    private readonly string? _defaultGrantId;
    private CallerIdentity? _last;

    public DefaultCallerIdentityResolver(PolicyLayerMcpOptions options)
    {
        _userClaimType = options.UserClaimType;
        _grantClaimType = options.GrantClaimType;
        _defaultGrantId = options.DefaultGrantId;
    }

    public ValueTask<CallerIdentity> ResolveAsync(MessageContext context, CancellationToken cancellationToken)
    {
        var server = context.Server;
        // A stateless HTTP request has no session: the process's connection id would pool every caller of it into one
        // bucket, so session-scoped limits refuse such a caller instead (the evaluator says why).
        var session = !string.IsNullOrEmpty(server.SessionId) ? server.SessionId
            : RequestSession.IsSessionless(context) ? null
            : _connectionId;
        var agent = server.ClientInfo?.Name;
        var principal = context.User;
        string? user = null;
        var grant = _defaultGrantId;
        IReadOnlyDictionary<string, IReadOnlyList<string>>? claims = null;
        if (principal?.Identity is { IsAuthenticated: true } identity)
        {
            // Every claim of the authenticated principal, for caller.claims.<type> conditions (multi-valued claims keep
            // every value), grouped when a condition first reads them.
            claims = new PrincipalClaims(principal);
            user = _userClaimType is not null
                ? principal.FindFirst(_userClaimType)?.Value
                : principal.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? principal.FindFirst("sub")?.Value ?? identity.Name;
            grant = principal.FindFirst(_grantClaimType)?.Value ?? grant;
        }

        if (claims is not null)
        {
            // An authenticated request's claims are its own: never reuse another request's identity for it.
            return new(new CallerIdentity { SessionId = session, AgentId = agent, UserId = user, GrantId = grant, Claims = claims });
        }

        // A stdio server sees one caller for its whole life: reuse the identity instead of allocating one per call.
        var last = Volatile.Read(ref _last);
        if (last is not null && last.SessionId == session && last.AgentId == agent && last.UserId == user && last.GrantId == grant)
        {
            return new(last);
        }

        var caller = new CallerIdentity { SessionId = session, AgentId = agent, UserId = user, GrantId = grant };
        Volatile.Write(ref _last, caller);
        return new(caller);
    }
}
