using System.Threading.Channels;

namespace PolicyLayer.Gateway;

/// <summary>
/// One POST from the client: the message it carried, and the messages the gateway routes back to it (its answer,
/// and on an event stream whatever the server sends while the request is open). A request waits for its answer;
/// anything else (a notification, an answer, input the gateway refuses) is over once the gateway has handled it.
/// </summary>
internal sealed class HttpExchange
{
    private readonly Channel<OutgoingMessage> _outbox;
    private int _done;

    public HttpExchange(byte[] body, bool tooLong, string? idKey, byte[]? id, bool acceptsStream, int capacity = 64)
    {
        // The request handler waiting for its answer resumes on the thread that delivers it (the upstream's reader, or
        // the handler itself when the gateway answered at once), with no thread-pool hop in between.
        _outbox = Channel.CreateBounded<OutgoingMessage>(new BoundedChannelOptions(capacity) { SingleReader = true, AllowSynchronousContinuations = true });
        Body = body;
        TooLong = tooLong;
        IdKey = idKey;
        Id = id;
        AcceptsStream = acceptsStream;
    }

    /// <summary>The message as the client sent it.</summary>
    public byte[] Body { get; }

    /// <summary>Whether the body was longer than the limit (and was not read).</summary>
    public bool TooLong { get; }

    /// <summary>The request's id key, when the body is a request with a usable id.</summary>
    public string? IdKey { get; }

    /// <summary>The request's id as the client wrote it.</summary>
    public byte[]? Id { get; }

    /// <summary>Whether the client accepts an event stream as the answer.</summary>
    public bool AcceptsStream { get; }

    /// <summary>Whether the exchange waits for an answer under its id (set when it is registered, not for a duplicate id).</summary>
    public bool AwaitsAnswer { get; set; }

    /// <summary>Whether the exchange can still be sent messages.</summary>
    public bool IsOpen => Volatile.Read(ref _done) == 0;

    public ChannelReader<OutgoingMessage> Outbox => _outbox.Reader;

    /// <summary>Hands a message to the exchange's HTTP response; <paramref name="final"/> ends the exchange after it.</summary>
    public async ValueTask DeliverAsync(byte[] message, bool final)
    {
        try
        {
            await _outbox.Writer.WriteAsync(new OutgoingMessage(message, final)).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // The client went away: what was meant for it is dropped.
        }

        if (final)
        {
            Complete();
        }
    }

    /// <summary>Hands a message over if there is room at once.</summary>
    public bool TryDeliver(byte[] message) => _outbox.Writer.TryWrite(new OutgoingMessage(message, Final: false));

    /// <summary>Ends the exchange: its response is finished with what it has been sent.</summary>
    public void Complete()
    {
        Volatile.Write(ref _done, 1);
        _outbox.Writer.TryComplete();
    }
}

/// <summary>A message for a client's HTTP response; <see cref="Final"/> when it is the answer that ends the exchange.</summary>
internal readonly record struct OutgoingMessage(byte[] Message, bool Final);
