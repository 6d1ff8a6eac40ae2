using System.Buffers;
using System.IO.Pipelines;

namespace PolicyLayer.Gateway;

/// <summary>
/// Reads the <c>message</c> events of a <c>text/event-stream</c> body (the WHATWG event-stream format): <c>data:</c>
/// lines joined by newlines, dispatched at a blank line; comments, ids and retry fields are skipped. An event longer
/// than the limit is discarded as it arrives.
/// </summary>
internal sealed class SseReader(Stream stream, int maxEventBytes)
{
    private readonly PipeReader _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024));
    private readonly ArrayBufferWriter<byte> _data = new(4096);
    private bool _eventIsMessage = true;
    private bool _hasData;
    private bool _tooLong;

    /// <summary>The next message event's data; <see langword="null"/> at the end of the stream.</summary>
    public async ValueTask<byte[]?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            byte[]? message = null;
            while (message is null && TryReadLine(ref buffer, out var line))
            {
                message = OnLine(line);
            }

            _pipe.AdvanceTo(buffer.Start, buffer.End);
            if (message is not null)
            {
                return message;
            }

            if (result.IsCompleted)
            {
                await _pipe.CompleteAsync().ConfigureAwait(false);
                return null;
            }

            if (buffer.Length > maxEventBytes)
            {
                // One unterminated line longer than any event may be: it is never held.
                throw new InvalidDataException($"An event-stream line is longer than {maxEventBytes} bytes.");
            }
        }
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (reader.TryReadToAny(out line, "\r\n"u8, advancePastDelimiter: false))
        {
            reader.TryRead(out var end);
            if (end == (byte)'\r')
            {
                // \r\n is one line end; a lone \r is one too.
                if (reader.TryPeek(out var next) && next == (byte)'\n')
                {
                    reader.Advance(1);
                }
                else if (reader.End)
                {
                    // The \n may be in the next read: wait for it.
                    line = default;
                    return false;
                }
            }

            buffer = buffer.Slice(reader.Position);
            return true;
        }

        line = default;
        return false;
    }

    private byte[]? OnLine(ReadOnlySequence<byte> line)
    {
        if (line.IsEmpty)
        {
            // Dispatch.
            byte[]? message = _hasData && _eventIsMessage && !_tooLong ? _data.WrittenSpan.ToArray() : null;
            _data.ResetWrittenCount();
            _hasData = false;
            _tooLong = false;
            _eventIsMessage = true;
            return message;
        }

        var span = line.IsSingleSegment ? line.FirstSpan : line.ToArray();
        if (span[0] == (byte)':')
        {
            return null;
        }

        var colon = span.IndexOf((byte)':');
        var field = colon < 0 ? span : span[..colon];
        var value = colon < 0 ? [] : span[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        if (field.SequenceEqual("data"u8))
        {
            if (_hasData)
            {
                _data.Write("\n"u8);
            }

            _hasData = true;
            if (_data.WrittenCount + value.Length > maxEventBytes)
            {
                _tooLong = true;
                _data.ResetWrittenCount();
            }
            else if (!_tooLong)
            {
                _data.Write(value);
            }
        }
        else if (field.SequenceEqual("event"u8))
        {
            _eventIsMessage = value.IsEmpty || value.SequenceEqual("message"u8);
        }

        return null;
    }
}
