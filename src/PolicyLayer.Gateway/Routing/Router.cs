using System.Text;
using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>
/// Moves messages between the two peers under ids the gateway owns: a client request goes to the server under a fresh
/// number and its answer comes back under the client's id; a server request goes to the client under a fresh number
/// and its answer goes back under the server's id; cancellations are translated the same way. An answer or a
/// cancellation that names an id the gateway never sent is dropped. Everything forwarded is re-serialised
/// (<see cref="CanonicalJson"/>), so what a peer reads is exactly what the gateway read.
/// </summary>
internal sealed class Router(PeerWriter toClient, PeerWriter toServer, ClientRequestTable clientRequests, PeerRequestTable peerRequests)
{
    public ClientRequestTable ClientRequests { get; } = clientRequests;

    public PeerRequestTable PeerRequests { get; } = peerRequests;

    /// <summary>Forwards the client's request to the server under an id of the gateway's own.</summary>
    public ValueTask ForwardRequestAsync(ClientRequest request, ReadOnlyMemory<byte> text, int idStart, int idLength)
    {
        var serverId = ClientRequests.AssignServerId(request);
        return toServer.ForwardAsync(text, idStart, idLength, serverId);
    }

    /// <summary>Forwards a notification (no id) to the server.</summary>
    public ValueTask NotifyServerAsync(ReadOnlyMemory<byte> text) => toServer.ForwardAsync(text, -1, 0, ReadOnlyMemory<byte>.Empty);

    /// <summary>Forwards a notification (no id) to the client.</summary>
    public ValueTask NotifyClientAsync(ReadOnlyMemory<byte> text) => toClient.ForwardAsync(text, -1, 0, ReadOnlyMemory<byte>.Empty);

    /// <summary>Relays the server's answer to the client's <paramref name="request"/>, under the client's id.</summary>
    public ValueTask AnswerClientAsync(ClientRequest request, ReadOnlyMemory<byte> text, in ScannedMessage message) =>
        toClient.ForwardAsync(text, message.IdStart, message.IdLength, request.ClientId);

    /// <summary>
    /// Relays a request of the server to the client under an id of the gateway's own; false when the session has as many
    /// server requests in flight as it allows, or one with the same id.
    /// </summary>
    public async ValueTask<bool> TryRelayServerRequestAsync(ReadOnlyMemory<byte> text, ScannedMessage message)
    {
        var serverId = text.Slice(message.IdStart, message.IdLength).ToArray();
        if (PeerRequests.TryAdd(message.IdKey, serverId, approval: null) is not { } request)
        {
            return false;
        }

        await toClient.ForwardAsync(text, message.IdStart, message.IdLength, request.ClientId).ConfigureAwait(false);
        return true;
    }

    /// <summary>Relays the client's answer to a server request back to the server under the server's id.</summary>
    public ValueTask AnswerServerAsync(PeerRequest request, ReadOnlyMemory<byte> text, in ScannedMessage message) =>
        toServer.ForwardAsync(text, message.IdStart, message.IdLength, request.ServerId);

    /// <summary>
    /// The client cancelled its request <paramref name="request"/>, which was forwarded: the server is told under the id
    /// it knows. The request is forgotten, so a late answer is dropped, as JSON-RPC expects for a cancelled request.
    /// </summary>
    public ValueTask CancelOnServerAsync(ClientRequest request, string? reason)
    {
        ClientRequests.Remove(request);
        return toServer.WriteAsync((request.ServerId, reason), static (json, state) => WriteCancelled(json, state.ServerId, state.reason));
    }

    /// <summary>Tells the client that the request it was sent under <paramref name="clientId"/> is no longer wanted.</summary>
    public ValueTask CancelOnClientAsync(long clientId, string? reason) =>
        toClient.WriteAsync((clientId, reason), static (json, state) => WriteCancelled(json, state.clientId, state.reason));

    /// <summary>A <c>notifications/cancelled</c> for the request <paramref name="requestId"/>, in either direction.</summary>
    private static void WriteCancelled(System.Text.Json.Utf8JsonWriter json, long requestId, string? reason)
    {
        json.WriteStartObject();
        json.WriteString("jsonrpc", "2.0");
        json.WriteString("method", "notifications/cancelled");
        json.WriteStartObject("params");
        json.WriteNumber("requestId", requestId);
        if (reason is not null)
        {
            json.WriteString("reason", reason);
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Answers a server request the gateway would not relay with a JSON-RPC error under the server's id.</summary>
    public ValueTask RefuseServerRequestAsync(ReadOnlyMemory<byte> serverId, string reason) =>
        toServer.WriteAsync((serverId, reason), static (json, state) =>
        {
            json.WriteStartObject();
            json.WriteString("jsonrpc", "2.0");
            ClientReplies.WriteId(json, state.serverId);
            json.WriteStartObject("error");
            json.WriteNumber("code", ClientReplies.InternalErrorCode);
            json.WriteString("message", state.reason);
            json.WriteEndObject();
            json.WriteEndObject();
        });

    /// <summary>
    /// Reads <c>params.requestId</c> and <c>params.reason</c> of a <c>notifications/cancelled</c> as an id key; false
    /// when it names no usable id.
    /// </summary>
    public static bool TryReadCancelled(ReadOnlyMemory<byte> text, out string idKey, out string? reason)
    {
        idKey = string.Empty;
        reason = null;
        using var document = JsonDocument.Parse(text);
        if (!document.RootElement.TryGetProperty("params", out var parameters) || parameters.ValueKind != JsonValueKind.Object
            || !parameters.TryGetProperty("requestId", out var requestId)
            || requestId.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
        {
            return false;
        }

        if (parameters.TryGetProperty("reason", out var why) && why.ValueKind == JsonValueKind.String)
        {
            reason = why.GetString();
        }

        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(requestId.GetRawText()));
        reader.Read();
        try
        {
            idKey = JsonRpcScanner.IdKey(ref reader);
            return true;
        }
        catch (InvalidOperationException)
        {
            // A string id that is not valid UTF-16 once unescaped: no request has it.
            return false;
        }
    }
}
