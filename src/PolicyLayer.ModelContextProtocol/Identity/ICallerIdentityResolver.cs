using ModelContextProtocol.Server;

namespace PolicyLayer.Mcp;

/// <summary>
/// Tells who is calling a tool, from the MCP request: the session, the client application, the
/// authenticated user and the grant. The host can register its own in place of the built-in one.
/// </summary>
public interface ICallerIdentityResolver
{
    /// <summary>Resolves the caller of one request.</summary>
    /// <param name="context">The request: its server (session id, client info), its authenticated user, its services.</param>
    /// <param name="cancellationToken">Cancels the resolution.</param>
    /// <returns>The caller; <see cref="CallerIdentity.Anonymous"/> when nothing is known.</returns>
    ValueTask<CallerIdentity> ResolveAsync(MessageContext context, CancellationToken cancellationToken);
}
