using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>
/// Writes whole messages to one peer. Both relay loops and the approval tasks write to the same peer, so each message
/// is built and written under an asynchronous lock: messages never interleave, and no thread blocks while one waits.
/// </summary>
internal sealed class PeerWriter(IMcpMessageChannel channel) : IDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private ArrayBufferWriter<byte> _scratch = new(4096);
    private Utf8JsonWriter? _json;
    private bool _completed;

    /// <summary>Forwards a parsed message in <see cref="CanonicalJson"/> form, its id (at <paramref name="idStart"/>) replaced by <paramref name="id"/>.</summary>
    public ValueTask ForwardAsync(ReadOnlyMemory<byte> message, int idStart, int idLength, ReadOnlyMemory<byte> id, CancellationToken cancellationToken = default) =>
        ForwardCoreAsync(message, idStart, idLength, id, gatewayId: 0, cancellationToken);

    /// <summary>
    /// Forwards a parsed message in <see cref="CanonicalJson"/> form, its id replaced by one of the gateway's own
    /// (<see cref="IdCounter"/>), written as JSON in place: no array per message.
    /// </summary>
    public ValueTask ForwardAsync(ReadOnlyMemory<byte> message, int idStart, int idLength, long gatewayId, CancellationToken cancellationToken = default) =>
        ForwardCoreAsync(message, idStart, idLength, default, gatewayId, cancellationToken);

    /// <summary>Sends <paramref name="message"/> with its id replaced by <paramref name="id"/>, or by <paramref name="gatewayId"/> when that is positive.</summary>
    private async ValueTask ForwardCoreAsync(ReadOnlyMemory<byte> message, int idStart, int idLength, ReadOnlyMemory<byte> id, long gatewayId, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _scratch.ResetWrittenCount();
            WriteCanonical(message.Span, idStart, idLength, id.Span, gatewayId);
            await WriteScratchAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    private void WriteCanonical(ReadOnlySpan<byte> message, int idStart, int idLength, ReadOnlySpan<byte> id, long gatewayId)
    {
        if (gatewayId <= 0)
        {
            CanonicalJson.Write(message, _scratch, idStart, idLength, id);
            return;
        }

        Span<byte> digits = stackalloc byte[20];
        IdCounter.Format(gatewayId, digits, out var written);
        CanonicalJson.Write(message, _scratch, idStart, idLength, digits[..written]);
    }

    /// <summary>Writes one JSON message built by <paramref name="build"/>.</summary>
    public async ValueTask WriteAsync<TState>(TState state, Action<Utf8JsonWriter, TState> build, CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _scratch.ResetWrittenCount();
            if (_json is null)
            {
                // Relaxed escaping: text the proxy writes (refusals, prompts) reaches people; it is still valid JSON on one line.
                _json = new Utf8JsonWriter(_scratch, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            }
            else
            {
                _json.Reset(_scratch);
            }

            build(_json, state);
            _json.Flush();
            await WriteScratchAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Ends what the peer reads; later writes are dropped.</summary>
    public async ValueTask CompleteAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_completed)
            {
                _completed = true;
                await channel.CompleteAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Frees the writer's buffers; a write after this fails with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _completed = true;
        _json?.Dispose();
        _lock.Dispose();
    }

    private async ValueTask WriteScratchAsync(CancellationToken cancellationToken)
    {
        if (_completed)
        {
            throw new ObjectDisposedException(nameof(PeerWriter), "The peer's output is closed.");
        }

        await channel.WriteAsync(_scratch.WrittenMemory, cancellationToken).ConfigureAwait(false);
        if (_scratch.Capacity > 1024 * 1024)
        {
            // One large filtered tools/list must not pin its buffer for the whole session.
            _scratch = new ArrayBufferWriter<byte>(4096);
            _json = null;
        }
    }
}
