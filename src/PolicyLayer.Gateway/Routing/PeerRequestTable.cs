using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>
/// The requests sent to the client and not yet answered, by the id the client was sent (the gateway's own numbers) and,
/// for relayed server requests, by the server's id. An answer with an id the gateway never sent is dropped.
/// </summary>
internal sealed class PeerRequestTable(IdCounter ids, int capacity)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, PeerRequest> _byClientId = [];
    private readonly Dictionary<string, PeerRequest> _byServerId = new(StringComparer.Ordinal);

    /// <summary>Registers a request to the client; <see langword="null"/> when the session has as many as it allows, or the server's id is in flight.</summary>
    public PeerRequest? TryAdd(string? serverIdKey, ReadOnlyMemory<byte> serverId, TaskCompletionSource<JsonElement>? approval)
    {
        lock (_lock)
        {
            if (_byClientId.Count >= capacity || (serverIdKey is not null && _byServerId.ContainsKey(serverIdKey)))
            {
                return null;
            }

            var request = new PeerRequest(ids.Next(), serverIdKey, serverId, approval);
            _byClientId.Add(request.ClientId, request);
            if (serverIdKey is not null)
            {
                _byServerId.Add(serverIdKey, request);
            }

            return request;
        }
    }

    public PeerRequest? TakeByClientId(long clientId)
    {
        lock (_lock)
        {
            if (!_byClientId.Remove(clientId, out var request))
            {
                return null;
            }

            if (request.ServerIdKey is not null)
            {
                _byServerId.Remove(request.ServerIdKey);
            }

            return request;
        }
    }

    public PeerRequest? TakeByServerId(string serverIdKey)
    {
        lock (_lock)
        {
            if (!_byServerId.Remove(serverIdKey, out var request))
            {
                return null;
            }

            _byClientId.Remove(request.ClientId);
            return request;
        }
    }

    public void Remove(PeerRequest request)
    {
        lock (_lock)
        {
            _byClientId.Remove(request.ClientId);
            if (request.ServerIdKey is not null)
            {
                _byServerId.Remove(request.ServerIdKey);
            }
        }
    }
}
