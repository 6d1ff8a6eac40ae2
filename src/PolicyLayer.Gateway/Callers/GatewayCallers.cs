using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PolicyLayer.Gateway;

/// <summary>
/// Establishes who is calling from a request: a grant token from the grants file, a principal the host's authentication
/// validated (a JWT), or, with no credential at all, the trusted local grant. A credential that is presented and not
/// valid is refused even where the trusted grant is set.
/// </summary>
internal sealed class GatewayCallers : IDisposable
{
    private readonly PolicyLayerGatewayOptions _options;
    private readonly PolicyEvaluator _evaluator;
    private readonly GrantTokens? _grants;
    private GatewayCaller? _trusted;

    public GatewayCallers(PolicyLayerGatewayOptions options, PolicyEvaluator evaluator, ILogger? logger = null)
    {
        _options = options;
        _evaluator = evaluator;
        _grants = options.GrantsFile is { } file
            ? GrantTokens.Load(file, evaluator, options.Session.TimeProvider, options.WatchGrantPolicies ? options.GrantPolicyPollInterval : null, logger)
            : null;
    }

    /// <summary>Stops watching the grants' policy files.</summary>
    public void Dispose() => _grants?.Dispose();

    /// <summary>The caller, or <see langword="null"/> when the request carries no valid credential.</summary>
    public GatewayCaller? Resolve(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        var bearer = ReadOnlySpan<char>.Empty;
        if (authorization.Length > 0)
        {
            if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            // The token read where it is in the header's text: no string of its own per request.
            bearer = authorization.AsSpan(7).Trim();
        }

        if (bearer.Length > 0 && _grants?.Find(bearer) is { } grant)
        {
            return grant.Caller;
        }

        if (_options.AcceptAuthenticatedUsers && context.User.Identity is { IsAuthenticated: true } && context.User is { } principal)
        {
            var user = principal.FindFirst(_options.UserClaim)?.Value ?? principal.FindFirst(ClaimTypes.NameIdentifier)?.Value;
            var grantId = principal.FindFirst(_options.GrantClaim)?.Value;
            var claims = CallerIdentity.GroupClaims(principal.Claims.Select(c => new KeyValuePair<string, string>(c.Type, c.Value)));
            return new GatewayCaller("user:" + user + "\n" + grantId, grantId, user, claims, _evaluator);
        }

        if (authorization.Length == 0 && _options.TrustedGrant is { } trusted)
        {
            // Built once: the same for every request (and immutable), so not a new object per request.
            var caller = Volatile.Read(ref _trusted);
            if (caller is null || !ReferenceEquals(caller.GrantId, trusted))
            {
                Volatile.Write(ref _trusted, caller = new GatewayCaller("trusted:" + trusted, trusted, null, null, _evaluator));
            }

            return caller;
        }

        return null;
    }
}
