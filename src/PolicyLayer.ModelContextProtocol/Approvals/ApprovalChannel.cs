using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace PolicyLayer.Mcp;

/// <summary>How the person at the client is asked for an approval.</summary>
internal enum ApprovalChannelKind
{
    /// <summary>The client cannot be asked: the call is refused with <see cref="ApprovalChannel.Refusal"/>.</summary>
    None = 0,

    /// <summary>An <c>elicitation/create</c> request on the session, answered while the call is held.</summary>
    ElicitationRequest = 1,

    /// <summary>An input-required result (multi-round-trip requests); the client retries the call with the answer.</summary>
    InputRequest = 2,
}

/// <summary>
/// Which clients can be asked for an approval, on which transport, and how: the one rule for every request.
/// </summary>
/// <remarks>
/// Two facts decide, and neither is the client's capabilities alone. An elicitation request needs a session that
/// carries server-to-client requests (stdio, stateful Streamable HTTP); a request over Streamable HTTP without a
/// session has none. An input request needs a client whose protocol has multi-round-trip requests
/// (<c>2026-07-28</c> and later), or a stateful session on which the SDK bridges them for older clients. Then the
/// client must have declared elicitation. On a stateless request of an <c>initialize</c>-era client the server never
/// saw its capabilities (they went with an <c>initialize</c> served by another request), so the refusal names the
/// transport and the protocol version, which are the true reason, rather than a capability the client may well have.
/// </remarks>
internal readonly struct ApprovalChannel
{
    private const string CannotBeAsked = "Approval is required, and this client cannot be asked: ";

    private ApprovalChannel(ApprovalChannelKind kind, string? refusal)
    {
        Kind = kind;
        Refusal = refusal;
    }

    public ApprovalChannelKind Kind { get; }

    /// <summary>Why the client cannot be asked, for the agent; set when <see cref="Kind"/> is <see cref="ApprovalChannelKind.None"/>.</summary>
    public string? Refusal { get; }

    public static ApprovalChannel Select(RequestContext<CallToolRequestParams> context, ApprovalRoundTrip roundTrip)
    {
        var server = context.Server;
        var sessionless = RequestSession.IsSessionless(context);
        var kind = roundTrip switch
        {
            ApprovalRoundTrip.Elicitation => ApprovalChannelKind.ElicitationRequest,
            ApprovalRoundTrip.InputRequests => ApprovalChannelKind.InputRequest,
            _ => sessionless ? ApprovalChannelKind.InputRequest : ApprovalChannelKind.ElicitationRequest,
        };

        if (kind == ApprovalChannelKind.ElicitationRequest && sessionless)
        {
            return Refused("the request came over Streamable HTTP without a session (stateless), so the server cannot send it an "
                + "elicitation request, and ApprovalRoundTrip.Elicitation allows no other way (ApprovalRoundTrip.Auto asks through an input request).");
        }

        if (kind == ApprovalChannelKind.InputRequest && !server.IsMrtrSupported)
        {
            var protocol = context.JsonRpcRequest.Context?.ProtocolVersion ?? server.NegotiatedProtocolVersion ?? "(unknown)";
            return Refused(sessionless
                ? $"the request came over Streamable HTTP without a session (stateless), so the server cannot send it an elicitation request, "
                    + $"and its protocol version {protocol} has no multi-round-trip input requests (2026-07-28 and later have them). "
                    + "A stateful HTTP session, or a client on a newer protocol version, can be asked."
                : $"its protocol version {protocol} has no multi-round-trip input requests, which ApprovalRoundTrip.InputRequests needs.");
        }

        return server.ClientCapabilities?.Elicitation is null
            ? Refused("it did not declare the MCP elicitation capability.")
            : new ApprovalChannel(kind, null);
    }

    private static ApprovalChannel Refused(string why) => new(ApprovalChannelKind.None, CannotBeAsked + why);
}
