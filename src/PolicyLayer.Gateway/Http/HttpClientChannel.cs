using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace PolicyLayer.Gateway;

/// <summary>
/// The client side of one gateway session over Streamable HTTP. Each POST is an <see cref="HttpExchange"/> whose
/// message the gateway reads in turn; what the gateway writes is routed back: an answer to the exchange that sent the
/// request (by its id), an error the gateway writes while it handles a message to that message's exchange, and what
/// the server sends of its own (progress, elicitation and sampling requests) to an open request's event stream, else
/// to the client's GET stream, else to a bounded backlog that the next GET stream receives first.
/// </summary>
/// <remarks>
/// The gateway reads one message at a time and handles it before it reads the next, so an error it writes between
/// two reads (a refused message, a parse error with a null id) belongs to the message read last: no guessing.
/// </remarks>
internal sealed class HttpClientChannel : IMcpMessageChannel
{
    /// <summary>How many messages wait for a GET stream at most; past it the oldest is dropped.</summary>
    internal const int MaxBacklog = 256;

    private readonly Channel<HttpExchange> _inbox;
    private readonly Lock _lock = new();
    /// <summary>
    /// The exchanges waiting for their answers, by id: the oldest under each id, the others after it
    /// (<see cref="HttpExchange.NextUnderSameId"/>), so that the usual single request per id costs no collection of its own.
    /// </summary>
    private readonly Dictionary<string, HttpExchange> _awaiting = new(StringComparer.Ordinal);
    private readonly List<HttpExchange> _streams = [];
    private readonly Queue<byte[]> _backlog = new();
    private readonly JsonRpcScanner _scanner = new(strict: false);
    private readonly ILogger _logger;
    private HttpExchange? _current;
    private HttpExchange? _listener;
    private bool _completed;

    public HttpClientChannel(int maxQueuedMessages, ILogger logger)
    {
        // The gateway's reading loop resumes on the request handler's thread that posted the message: the message is
        // decided (and forwarded, or answered) on the handler's path, with no thread-pool hop in between.
        _inbox = Channel.CreateBounded<HttpExchange>(new BoundedChannelOptions(maxQueuedMessages) { SingleReader = true, AllowSynchronousContinuations = true });
        _logger = logger;
    }

    /// <summary>How many requests wait for their answers.</summary>
    public int PendingRequests
    {
        get
        {
            lock (_lock)
            {
                return _awaiting.Values.Sum(static first => Waiting(first).Count());
            }
        }
    }

    /// <summary>Queues a POST's message for the gateway; its answers arrive in the exchange (<see cref="HttpExchange.WaitToReadAsync"/>).</summary>
    /// <returns><see langword="false"/> when the session has ended.</returns>
    public async ValueTask<bool> PostAsync(HttpExchange exchange, CancellationToken cancellationToken)
    {
        try
        {
            await _inbox.Writer.WriteAsync(exchange, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ChannelClosedException)
        {
            exchange.Complete();
            return false;
        }
    }

    /// <summary>Opens the client's GET stream: it gets what waited in the backlog, then what the server sends of its own.</summary>
    /// <returns>The stream's exchange, or <see langword="null"/> when one is open already or the session has ended.</returns>
    public HttpExchange? Listen()
    {
        var listener = new HttpExchange([], tooLong: false, idKey: null, id: null, acceptsStream: true, capacity: MaxBacklog + 64);
        byte[][] backlog;
        lock (_lock)
        {
            if (_completed || _listener is { IsOpen: true })
            {
                return null;
            }

            _listener = listener;
            backlog = [.. _backlog];
            _backlog.Clear();
        }

        foreach (var message in backlog)
        {
            // The stream's outbox has room for the whole backlog.
            listener.TryDeliver(message);
        }

        return listener;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<McpMessageRead> ReadAsync(CancellationToken cancellationToken)
    {
        EndCurrent();
        while (await _inbox.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_inbox.Reader.TryRead(out var exchange))
            {
                lock (_lock)
                {
                    // Registered in the order the gateway reads, which is the order it accepts ids in: answers under one
                    // id come back in that order too (the gateway keeps one request per id in flight).
                    _current = exchange;
                    if (exchange.IdKey is { } key)
                    {
                        if (_awaiting.TryGetValue(key, out var waiting))
                        {
                            while (waiting.NextUnderSameId is { } next)
                            {
                                waiting = next;
                            }

                            waiting.NextUnderSameId = exchange;
                        }
                        else
                        {
                            _awaiting.Add(key, exchange);
                        }

                        exchange.AwaitsAnswer = true;
                        if (exchange.AcceptsStream)
                        {
                            _streams.Add(exchange);
                        }
                    }
                }

                return exchange.TooLong ? new McpMessageRead(McpMessageReadStatus.TooLong, default)
                    : exchange.Scanned ? new McpMessageRead(exchange.Body, exchange)
                    : new McpMessageRead(McpMessageReadStatus.Message, exchange.Body);
            }
        }

        return new McpMessageRead(McpMessageReadStatus.End, default);
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        var copy = message.ToArray();
        HttpExchange? target;
        var final = false;
        var status = _scanner.Scan(copy, out var scanned);
        lock (_lock)
        {
            if (status == ScanStatus.Batch || scanned.Kind == MessageKind.Response)
            {
                var key = scanned.HasUsableId ? scanned.IdKey : null;
                var current = _current is { IsOpen: true } open ? open : null;
                if (current is not null && (key is null || current.IdKey == key))
                {
                    // Written while the gateway handles the current message: its answer or its refusal.
                    target = current;
                    final = current.AwaitsAnswer;
                    if (final)
                    {
                        Forget(current);
                    }
                }
                else if (key is not null && _awaiting.TryGetValue(key, out var oldest))
                {
                    target = oldest;
                    Forget(oldest);
                    final = true;
                    _streams.Remove(target);
                }
                else
                {
                    // An id the client sent in a message the gateway refused as not a valid request: that message's.
                    target = current is { IdKey: null } ? current : null;
                }
            }
            else
            {
                // The server's own notifications and requests: on the oldest open request's stream, else the GET stream.
                target = _streams.Find(static e => e.IsOpen) ?? (_listener is { IsOpen: true } listener ? listener : null);
                if (target is null)
                {
                    if (_completed)
                    {
                        return;
                    }

                    if (_backlog.Count == MaxBacklog)
                    {
                        _backlog.Dequeue();
                        GatewayLog.DroppedForSlowClient(_logger);
                    }

                    _backlog.Enqueue(copy);
                    return;
                }
            }
        }

        if (target is null)
        {
            GatewayLog.DroppedUnmatchedAnswer(_logger, "gateway", scanned.IdKey ?? "none");
            return;
        }

        await target.DeliverAsync(copy, final).ConfigureAwait(false);
    }

    /// <summary>Ends the session's input: the gateway reads the end, closes the server's input, and the session winds down.</summary>
    public ValueTask CompleteAsync()
    {
        _inbox.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    /// <summary>The session is over: no more messages in; every open exchange and the GET stream end.</summary>
    public void Close()
    {
        List<HttpExchange> open;
        lock (_lock)
        {
            _completed = true;
            open = [.. _awaiting.Values.SelectMany(Waiting)];
            _awaiting.Clear();
            _streams.Clear();
            if (_listener is not null)
            {
                open.Add(_listener);
            }

            if (_current is not null)
            {
                open.Add(_current);
            }
        }

        _inbox.Writer.TryComplete();
        while (_inbox.Reader.TryRead(out var queued))
        {
            open.Add(queued);
        }

        foreach (var exchange in open)
        {
            exchange.Complete();
        }
    }

    /// <summary>The client's response went away (it disconnected): the exchange is sent nothing more.</summary>
    public void Abandon(HttpExchange exchange)
    {
        lock (_lock)
        {
            _streams.Remove(exchange);
        }

        // Still awaited under its id, so that the answer is recognised (and dropped) rather than routed elsewhere.
        exchange.Complete();
    }

    private void EndCurrent()
    {
        HttpExchange? done = null;
        lock (_lock)
        {
            if (_current is { AwaitsAnswer: false } current)
            {
                done = current;
            }

            _current = null;
        }

        // A message that is not a request waiting for its answer is over once the gateway has handled it.
        done?.Complete();
    }

    /// <summary>The exchanges waiting under one id, oldest first.</summary>
    private static IEnumerable<HttpExchange> Waiting(HttpExchange first)
    {
        for (var exchange = first; exchange is not null; exchange = exchange.NextUnderSameId)
        {
            yield return exchange;
        }
    }

    private void Forget(HttpExchange exchange)
    {
        // Called under the lock: the exchange no longer waits under its id (the others under it keep their order).
        if (exchange.IdKey is { } key && _awaiting.TryGetValue(key, out var first))
        {
            if (first == exchange)
            {
                if (exchange.NextUnderSameId is { } next)
                {
                    _awaiting[key] = next;
                }
                else
                {
                    _awaiting.Remove(key);
                }
            }
            else
            {
                var before = first;
                while (before.NextUnderSameId is { } candidate && candidate != exchange)
                {
                    before = candidate;
                }

                if (before.NextUnderSameId == exchange)
                {
                    before.NextUnderSameId = exchange.NextUnderSameId;
                }
            }

            exchange.NextUnderSameId = null;
        }

        _streams.Remove(exchange);
    }
}
