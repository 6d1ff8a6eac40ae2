using Microsoft.Extensions.Logging;

namespace PolicyLayer.Gateway;

/// <summary>
/// One client session of the HTTP gateway: the client's <see cref="HttpClientChannel"/>, a <see cref="McpGatewaySession"/>
/// that decides its calls, and its own connection upstream (its own child process, or its own MCP session on an HTTP
/// server). Bound to the credential that opened it.
/// </summary>
internal sealed class HttpGatewaySession
{
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastActive;
    private int _openRequests;
    private int _ending;

    private HttpGatewaySession(string id, GatewayCaller caller, HttpClientChannel client, McpGatewaySession gateway, UpstreamConnection upstream, TimeProvider time, ILogger logger)
    {
        Id = id;
        Caller = caller;
        Client = client;
        Gateway = gateway;
        Upstream = upstream;
        _time = time;
        _logger = logger;
        _lastActive = time.GetTimestamp();
    }

    public string Id { get; }

    public GatewayCaller Caller { get; }

    public HttpClientChannel Client { get; }

    public McpGatewaySession Gateway { get; }

    public UpstreamConnection Upstream { get; }

    /// <summary>Completes when the session is over and its upstream let go.</summary>
    public Task Ended => _ended.Task;

    /// <summary>Starts a session: connects upstream and runs the gateway between the client's channel and the server's.</summary>
    public static async Task<HttpGatewaySession> StartAsync(string id, GatewayCaller caller, PolicyLayerGatewayOptions options, ILogger logger, Action<HttpGatewaySession> onEnded, CancellationToken cancellationToken)
    {
        var template = options.Session;
        var upstream = await options.Upstream!.ConnectAsync(template.MaxMessageBytes, cancellationToken).ConfigureAwait(false);
        var client = new HttpClientChannel(template.MaxPendingRequests, logger);
        var gateway = new McpGatewaySession(caller.Evaluator, template.ForSession(id, caller.GrantId, caller.UserId, caller.Claims), logger);
        var session = new HttpGatewaySession(id, caller, client, gateway, upstream, template.TimeProvider, logger);
        if (template.AnnounceToolListChanges)
        {
            // A reload of the caller's policy (the gateway's, or its grant's own) reaches this session while it is open.
            caller.Evaluator.ListingMayHaveChanged += gateway.OnPolicyReloaded;
        }

        var run = gateway.RunAsync(client, upstream.Channel, CancellationToken.None);
        _ = session.WhenServerEndsAsync(run, onEnded);
        GatewayLog.SessionStarted(logger, id, caller.ToString(), options.Upstream.Description);
        return session;
    }

    /// <summary>A request of this session's began: the session is not idle while it is open.</summary>
    public void Enter()
    {
        Interlocked.Increment(ref _openRequests);
        Volatile.Write(ref _lastActive, _time.GetTimestamp());
    }

    /// <summary>A request of this session's ended.</summary>
    public void Exit()
    {
        Volatile.Write(ref _lastActive, _time.GetTimestamp());
        Interlocked.Decrement(ref _openRequests);
    }

    /// <summary>Whether the session has had no open request for <paramref name="idleTimeout"/>.</summary>
    public bool IsIdle(TimeSpan idleTimeout) =>
        Volatile.Read(ref _openRequests) == 0 && _time.GetElapsedTime(Volatile.Read(ref _lastActive)) >= idleTimeout;

    /// <summary>
    /// Ends the session: the client's input ends, so the gateway closes the server's input (MCP's shutdown), and the
    /// upstream is let go once the server's output has ended or a grace period has passed.
    /// </summary>
    public async Task EndAsync(string reason)
    {
        if (Interlocked.Exchange(ref _ending, 1) == 0)
        {
            GatewayLog.SessionEnded(_logger, Id, reason);
            await Client.CompleteAsync().ConfigureAwait(false);
        }

        await Ended.ConfigureAwait(false);
    }

    private async Task WhenServerEndsAsync(Task run, Action<HttpGatewaySession> onEnded)
    {
        try
        {
            // Either the server's output ended by itself, or the session was ended and the server followed.
            var ending = Task.Run(async () =>
            {
                await Gateway.ClientInputEnded.ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromSeconds(2), _time).ConfigureAwait(false);
            });
            await Task.WhenAny(run, ending).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _ending, 1) == 0)
            {
                GatewayLog.SessionEnded(_logger, Id, "the server's output ended");
            }
        }
        finally
        {
            Caller.Evaluator.ListingMayHaveChanged -= Gateway.OnPolicyReloaded;
            onEnded(this);
            Client.Close();
            await Upstream.DisposeAsync().ConfigureAwait(false);
            Gateway.Dispose();
            _ended.TrySetResult();
        }
    }
}
