using System.Buffers;

namespace PolicyLayer.Gateway;

/// <summary>MCP's stdio framing over two streams: a <see cref="LineReader"/> in, one write per message (and its newline) out.</summary>
/// <param name="input">What the peer writes.</param>
/// <param name="output">What the peer reads.</param>
/// <param name="maxMessageBytes">The longest line accepted.</param>
/// <param name="readsInPlace">
/// Whether <paramref name="input"/>'s reads complete in place, blocking the caller until bytes arrive (the console, or a
/// child's pipe read as a byte relay reads it): the session then reads this channel from a thread of its own.
/// </param>
internal sealed class StdioMessageChannel(Stream input, Stream output, int maxMessageBytes, bool readsInPlace = false) : IMcpMessageChannel
{
    private readonly LineReader _reader = new(input, maxMessageBytes);
    private ArrayBufferWriter<byte> _scratch = new(4096);

    /// <summary>Whether a read blocks the calling thread until the peer writes (see the constructor).</summary>
    public bool ReadsInPlace => readsInPlace;

    public async ValueTask<McpMessageRead> ReadAsync(CancellationToken cancellationToken)
    {
        var status = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new McpMessageRead(status, status == McpMessageReadStatus.Message ? _reader.Line : default);
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        // One write per message: a reader never sees half a line followed by another writer's bytes.
        _scratch.ResetWrittenCount();
        _scratch.Write(message.Span);
        _scratch.Write("\n"u8);
        await output.WriteAsync(_scratch.WrittenMemory, cancellationToken).ConfigureAwait(false);

        // Flushed in place: stdio's streams (the console's, a child's pipes) buffer nothing, so Flush returns at once,
        // where Stream's default FlushAsync would queue that same Flush to the thread pool and wait for it: a thread
        // hop per message, most of the proxy's latency over a byte relay (docs/benchmarks.md).
        output.Flush();
        if (_scratch.Capacity > 1024 * 1024)
        {
            // One large message must not pin its buffer for the whole session.
            _scratch = new ArrayBufferWriter<byte>(4096);
        }
    }

    public async ValueTask CompleteAsync()
    {
        try
        {
            await output.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The peer is already gone.
        }
    }
}
