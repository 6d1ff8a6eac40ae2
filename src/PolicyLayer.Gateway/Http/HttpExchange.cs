using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace PolicyLayer.Gateway;

/// <summary>
/// One POST from the client: the message it carried, and the messages the gateway routes back to it (its answer,
/// and on an event stream whatever the server sends while the request is open). A request waits for its answer;
/// anything else (a notification, an answer, input the gateway refuses) is over once the gateway has handled it.
/// </summary>
/// <remarks>
/// The messages wait in a small bounded queue of the exchange's own, read by the one request handler. It is built for
/// the usual exchange, one JSON answer: nothing is allocated for it beyond the exchange, and the handler waiting for
/// the answer resumes on the thread that delivers it (the upstream's reader, or the handler itself when the gateway
/// answered at once), with no thread-pool hop in between. A writer that finds the queue full waits for room.
/// </remarks>
internal sealed class HttpExchange : IValueTaskSource<bool>, IScannedMessage
{
    private readonly Lock _lock = new();
    private readonly int _capacity;

    // The first message waiting, then the others in order (the queue only once two wait at a time).
    private OutgoingMessage _head;
    private bool _hasHead;
    private Queue<OutgoingMessage>? _rest;
    private volatile bool _completed;

    // The handler, waiting for a message; continued on the thread that delivers it.
    private ManualResetValueTaskSourceCore<bool> _wait;
    private bool _waiting;
    private CancellationToken _waitToken;
    private CancellationTokenRegistration _waitCancellation;

    // Writers waiting for room (only when the handler reads slower than the server sends).
    private TaskCompletionSource? _room;

    public HttpExchange(byte[] body, bool tooLong, string? idKey, ReadOnlyMemory<byte>? id, bool acceptsStream, int capacity = 64)
    {
        _capacity = capacity;
        Body = body;
        TooLong = tooLong;
        IdKey = idKey;
        Id = id;
        AcceptsStream = acceptsStream;
    }

    /// <summary>A POST whose body the endpoint scanned strictly: the gateway takes that scan instead of making its own.</summary>
    public HttpExchange(byte[] body, ScanStatus scanStatus, in ScannedMessage envelope, bool acceptsStream)
        : this(body, tooLong: false, IsRequest(scanStatus, envelope) ? envelope.IdKey : null, IsRequest(scanStatus, envelope) ? body.AsMemory(envelope.IdStart, envelope.IdLength) : (ReadOnlyMemory<byte>?)null, acceptsStream)
    {
        ScanStatus = scanStatus;
        Envelope = envelope;
        Scanned = true;
    }

    /// <summary>The message as the client sent it.</summary>
    public byte[] Body { get; }

    /// <summary>Whether the body was longer than the limit (and was not read).</summary>
    public bool TooLong { get; }

    /// <summary>The request's id key, when the body is a request with a usable id.</summary>
    public string? IdKey { get; }

    /// <summary>The request's id as the client wrote it (a slice of <see cref="Body"/>).</summary>
    public ReadOnlyMemory<byte>? Id { get; }

    /// <summary>What the endpoint's strict scan of <see cref="Body"/> found, when <see cref="Scanned"/>.</summary>
    public ScanStatus ScanStatus { get; }

    /// <summary>The envelope the endpoint's scan read, when <see cref="Scanned"/>.</summary>
    public ScannedMessage Envelope { get; }

    /// <summary>Whether the endpoint scanned <see cref="Body"/> (a body within the limit, from a POST).</summary>
    public bool Scanned { get; }

    /// <summary>The method of a well-formed request, as the endpoint's scan read it.</summary>
    public string? RequestMethod => Scanned && IsRequest(ScanStatus, Envelope) ? Envelope.Method : null;

    private static bool IsRequest(ScanStatus status, in ScannedMessage envelope) => status == ScanStatus.Message && envelope.Kind == MessageKind.Request;

    /// <summary>Whether the client accepts an event stream as the answer.</summary>
    public bool AcceptsStream { get; }

    /// <summary>Whether the exchange waits for an answer under its id (set when it is registered, not for a duplicate id).</summary>
    public bool AwaitsAnswer { get; set; }

    /// <summary>The next exchange waiting for an answer under the same id (the client reused it), oldest first; kept by <see cref="HttpClientChannel"/> under its lock.</summary>
    public HttpExchange? NextUnderSameId { get; set; }

    /// <summary>Whether the exchange can still be sent messages.</summary>
    public bool IsOpen => !_completed;

    /// <summary>Hands a message to the exchange's HTTP response, waiting for room; <paramref name="final"/> ends the exchange after it.</summary>
    public async ValueTask DeliverAsync(byte[] message, bool final)
    {
        var item = new OutgoingMessage(message, final);
        while (true)
        {
            Task room;
            lock (_lock)
            {
                if (_completed)
                {
                    // The client went away: what was meant for it is dropped.
                    return;
                }

                if (Count < _capacity)
                {
                    Enqueue(item);
                    _completed = final;
                    break;
                }

                room = (_room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            await room.ConfigureAwait(false);
        }

        WakeReader();
    }

    /// <summary>Hands a message over if there is room at once.</summary>
    public bool TryDeliver(byte[] message)
    {
        lock (_lock)
        {
            if (_completed || Count >= _capacity)
            {
                return false;
            }

            Enqueue(new OutgoingMessage(message, Final: false));
        }

        WakeReader();
        return true;
    }

    /// <summary>Ends the exchange: its response is finished with what it has been sent.</summary>
    public void Complete()
    {
        TaskCompletionSource? room;
        lock (_lock)
        {
            if (_completed && _room is null)
            {
                return;
            }

            _completed = true;
            room = _room;
            _room = null;
        }

        // Writers waiting for room find the exchange over, and drop what they carry.
        room?.TrySetResult();
        WakeReader();
    }

    /// <summary>Waits until a message can be read (<see langword="true"/>) or the exchange is over with none left (<see langword="false"/>).</summary>
    /// <remarks>One reader: the request handler.</remarks>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        short version;
        lock (_lock)
        {
            if (_hasHead)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<bool>(cancellationToken);
            }

            _wait.Reset();
            version = _wait.Version;
            _waiting = true;
            _waitToken = cancellationToken;
        }

        // Registered outside the lock: a token cancelled meanwhile calls back at once, and the callback takes the lock.
        var registration = cancellationToken.UnsafeRegister(static state => ((HttpExchange)state!).CancelWait(), this);
        var stale = false;
        lock (_lock)
        {
            if (_waiting)
            {
                _waitCancellation = registration;
            }
            else
            {
                // Woken (or cancelled) before the registration was kept: nothing will unregister it but this.
                stale = true;
            }
        }

        if (stale)
        {
            registration.Unregister();
        }

        return new ValueTask<bool>(this, version);
    }

    /// <summary>Takes the next message, if one waits.</summary>
    public bool TryRead(out OutgoingMessage message)
    {
        TaskCompletionSource? room = null;
        lock (_lock)
        {
            if (!_hasHead)
            {
                message = default;
                return false;
            }

            message = _head;
            if (_rest is { Count: > 0 } rest)
            {
                _head = rest.Dequeue();
            }
            else
            {
                _head = default;
                _hasHead = false;
            }

            if (_room is not null)
            {
                room = _room;
                _room = null;
            }
        }

        room?.TrySetResult();
        return true;
    }

    /// <summary>Every message until the exchange is over.</summary>
    public async IAsyncEnumerable<OutgoingMessage> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (TryRead(out var message))
            {
                yield return message;
            }
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _wait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _wait.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wait.OnCompleted(continuation, state, token, flags);

    private int Count => !_hasHead ? 0 : 1 + (_rest?.Count ?? 0);

    private void Enqueue(OutgoingMessage item)
    {
        // Called under the lock.
        if (!_hasHead)
        {
            _head = item;
            _hasHead = true;
        }
        else
        {
            (_rest ??= new Queue<OutgoingMessage>()).Enqueue(item);
        }
    }

    private void WakeReader()
    {
        CancellationTokenRegistration registration;
        bool result;
        lock (_lock)
        {
            if (!_waiting || (!_hasHead && !_completed))
            {
                return;
            }

            _waiting = false;
            result = _hasHead;
            registration = _waitCancellation;
            _waitCancellation = default;
        }

        // Not Dispose: that would wait for a cancellation callback running on another thread, which finds no waiter.
        registration.Unregister();
        _wait.SetResult(result);
    }

    private void CancelWait()
    {
        CancellationToken token;
        lock (_lock)
        {
            if (!_waiting)
            {
                return;
            }

            _waiting = false;
            token = _waitToken;
            _waitCancellation = default;
        }

        _wait.SetException(new OperationCanceledException(token));
    }
}

/// <summary>A message for a client's HTTP response; <see cref="Final"/> when it is the answer that ends the exchange.</summary>
internal readonly record struct OutgoingMessage(byte[] Message, bool Final);
