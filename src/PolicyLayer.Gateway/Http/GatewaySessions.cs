using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace PolicyLayer.Gateway;

/// <summary>
/// The open sessions of the HTTP gateway, by their <c>Mcp-Session-Id</c>: at most
/// <see cref="PolicyLayerGatewayOptions.MaxSessions"/>, each ended after <see cref="PolicyLayerGatewayOptions.IdleTimeout"/>
/// without a request.
/// </summary>
internal sealed class GatewaySessions : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, HttpGatewaySession> _sessions = new(StringComparer.Ordinal);
    private readonly PolicyLayerGatewayOptions _options;
    private readonly ILogger _logger;
    private readonly ITimer _sweep;
    private int _count;
    private long _posted;

    public GatewaySessions(PolicyLayerGatewayOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        var period = TimeSpan.FromTicks(Math.Clamp(options.IdleTimeout.Ticks / 4, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));
        _sweep = options.Session.TimeProvider.CreateTimer(static state => ((GatewaySessions)state!).EndIdle(), this, period, period);
    }

    /// <summary>How many client messages have been queued for the gateway, in every session (tests wait on it to keep their order).</summary>
    internal long MessagesPosted => Interlocked.Read(ref _posted);

    /// <summary>The open sessions.</summary>
    internal IEnumerable<HttpGatewaySession> Open => _sessions.Values;

    internal void OnPosted() => Interlocked.Increment(ref _posted);

    /// <summary>How many sessions are open.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Opens a session for <paramref name="caller"/>, or returns <see langword="null"/> when as many are open as allowed.</summary>
    /// <exception cref="IOException">The upstream cannot be reached or started.</exception>
    public async Task<HttpGatewaySession?> StartAsync(GatewayCaller caller, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _count) > _options.MaxSessions)
        {
            Interlocked.Decrement(ref _count);
            return null;
        }

        try
        {
            var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            var session = await HttpGatewaySession.StartAsync(id, caller, _options, _logger, OnEnded, cancellationToken).ConfigureAwait(false);
            _sessions[id] = session;
            if (session.Ended.IsCompleted)
            {
                // The server ended before the session was listed.
                OnEnded(session);
            }

            return session;
        }
        catch
        {
            Interlocked.Decrement(ref _count);
            throw;
        }
    }

    /// <summary>The open session with this id that <paramref name="caller"/> may use, or <see langword="null"/>.</summary>
    public HttpGatewaySession? Find(string id, GatewayCaller caller) =>
        _sessions.TryGetValue(id, out var session) && session.Caller.Owner == caller.Owner ? session : null;

    public async ValueTask DisposeAsync()
    {
        await _sweep.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(_sessions.Values.Select(s => s.EndAsync("the gateway is stopping"))).ConfigureAwait(false);
    }

    private void OnEnded(HttpGatewaySession session)
    {
        if (_sessions.TryRemove(new KeyValuePair<string, HttpGatewaySession>(session.Id, session)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private void EndIdle()
    {
        foreach (var session in _sessions.Values)
        {
            if (session.IsIdle(_options.IdleTimeout))
            {
                _ = session.EndAsync($"idle for {_options.IdleTimeout}");
            }
        }
    }
}
