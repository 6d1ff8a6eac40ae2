using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>
/// A request the gateway sent the client under an id of its own: either the server's request relayed (elicitation,
/// sampling, roots), answered back to the server under the server's id, or the gateway's own approval request.
/// </summary>
internal sealed class PeerRequest(long clientId, string? serverIdKey, ReadOnlyMemory<byte> serverId, TaskCompletionSource<JsonElement>? approval)
{
    /// <summary>The id the client was sent.</summary>
    public long ClientId { get; } = clientId;

    /// <summary>The server's id as a key, for a relayed request; <see langword="null"/> for the gateway's own.</summary>
    public string? ServerIdKey { get; } = serverIdKey;

    /// <summary>The server's id exactly as it wrote it.</summary>
    public ReadOnlyMemory<byte> ServerId { get; } = serverId;

    /// <summary>For the gateway's own approval request: where the client's answer (its result) goes.</summary>
    public TaskCompletionSource<JsonElement>? Approval { get; } = approval;
}
