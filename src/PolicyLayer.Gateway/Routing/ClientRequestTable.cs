namespace PolicyLayer.Gateway;

/// <summary>What <see cref="ClientRequestTable.TryAdd"/> did.</summary>
internal enum AddResult
{
    Added,

    /// <summary>A request with the same id is in flight: the id would be ambiguous.</summary>
    IdInFlight,

    /// <summary>As many requests as the session allows are in flight.</summary>
    Full,
}

/// <summary>
/// The client's requests in flight, by the client's id and by the gateway's id toward the server. The gateway owns the
/// server's id space: each forwarded request gets a fresh number, so a reply can only complete the request it answers,
/// and a client request that reuses the id of one still in flight is refused.
/// </summary>
internal sealed class ClientRequestTable(IdCounter ids, int capacity)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ClientRequest> _byClientId = new(StringComparer.Ordinal);
    private readonly Dictionary<long, ClientRequest> _byServerId = [];

    public AddResult TryAdd(ClientRequest request)
    {
        lock (_lock)
        {
            if (_byClientId.ContainsKey(request.ClientIdKey))
            {
                return AddResult.IdInFlight;
            }

            if (_byClientId.Count >= capacity)
            {
                return AddResult.Full;
            }

            _byClientId.Add(request.ClientIdKey, request);
            return AddResult.Added;
        }
    }

    /// <summary>Gives <paramref name="request"/> its id toward the server, so that the server's answer finds it.</summary>
    public long AssignServerId(ClientRequest request)
    {
        var id = ids.Next();
        lock (_lock)
        {
            request.ServerId = id;
            _byServerId[id] = request;
        }

        return id;
    }

    /// <summary>The request the server answers with <paramref name="serverId"/>, removed; <see langword="null"/> if there is none.</summary>
    public ClientRequest? TakeByServerId(long serverId)
    {
        lock (_lock)
        {
            if (!_byServerId.Remove(serverId, out var request))
            {
                return null;
            }

            _byClientId.Remove(request.ClientIdKey);
            return request;
        }
    }

    public ClientRequest? FindByClientId(string clientIdKey)
    {
        lock (_lock)
        {
            return _byClientId.GetValueOrDefault(clientIdKey);
        }
    }

    /// <summary>Forgets <paramref name="request"/> (refused, cancelled, or answered by the gateway itself).</summary>
    public void Remove(ClientRequest request)
    {
        lock (_lock)
        {
            if (_byClientId.TryGetValue(request.ClientIdKey, out var current) && ReferenceEquals(current, request))
            {
                _byClientId.Remove(request.ClientIdKey);
            }

            if (request.ServerId != 0 && _byServerId.TryGetValue(request.ServerId, out current) && ReferenceEquals(current, request))
            {
                _byServerId.Remove(request.ServerId);
            }
        }
    }
}
