using ModelContextProtocol.Server;

namespace PolicyLayer.Mcp;

/// <summary>What the transport tells about the session of one MCP request.</summary>
internal static class RequestSession
{
    /// <summary>
    /// Whether the request came over Streamable HTTP without a session: a server in stateless mode, or a
    /// <c>2026-07-28</c> request that a hybrid server serves statelessly. Such a request has no session id, and the
    /// server cannot send the client a request of its own (an elicitation) and wait for the answer.
    /// </summary>
    /// <remarks>
    /// Streamable HTTP is the transport that relates each message to the HTTP exchange it came in (stdio and streams
    /// relate none), and a stateful HTTP session always has an id. A custom transport that relates messages without
    /// naming a session is taken as sessionless too: no session is better than one shared by strangers.
    /// </remarks>
    public static bool IsSessionless(MessageContext context) =>
        string.IsNullOrEmpty(context.Server.SessionId) && context.JsonRpcMessage.Context?.RelatedTransport is not null;
}
