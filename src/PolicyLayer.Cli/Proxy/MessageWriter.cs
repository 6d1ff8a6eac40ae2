using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace PolicyLayer.Cli.Proxy;

/// <summary>
/// Writes whole lines to one peer. Both relay loops and the approval tasks write to the same peer, so each
/// line is written under a lock in a single write: lines never interleave.
/// </summary>
internal sealed class MessageWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly Lock _lock = new();
    private readonly ArrayBufferWriter<byte> _scratch = new(4096);
    private readonly Utf8JsonWriter _json;

    public MessageWriter(Stream stream)
    {
        _stream = stream;
        _json = new Utf8JsonWriter(_scratch, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>Writes a line as it is; <paramref name="line"/> ends with its newline unless <paramref name="addNewline"/>.</summary>
    public void WriteRaw(ReadOnlySpan<byte> line, bool addNewline)
    {
        lock (_lock)
        {
            if (addNewline)
            {
                _scratch.ResetWrittenCount();
                _scratch.Write(line);
                _scratch.Write("\n"u8);
                _stream.Write(_scratch.WrittenSpan);
                ShrinkScratch();
            }
            else
            {
                _stream.Write(line);
            }

            _stream.Flush();
        }
    }

    /// <summary>Writes one JSON message built by <paramref name="build"/>, then a newline.</summary>
    public void Write<TState>(TState state, Action<Utf8JsonWriter, TState> build)
    {
        lock (_lock)
        {
            _scratch.ResetWrittenCount();
            _json.Reset(_scratch);
            build(_json, state);
            _json.Flush();
            _scratch.Write("\n"u8);
            _stream.Write(_scratch.WrittenSpan);
            _stream.Flush();
            ShrinkScratch();
        }
    }

    /// <summary>Closes the stream, so that the peer reads the end of its input.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _json.Dispose();
            _stream.Dispose();
        }
    }

    private void ShrinkScratch()
    {
        // One large filtered tools/list must not pin its buffer for the whole session.
        if (_scratch.Capacity > 1024 * 1024)
        {
            _scratch.Clear();
            _scratch.ResetWrittenCount();
        }
    }
}
