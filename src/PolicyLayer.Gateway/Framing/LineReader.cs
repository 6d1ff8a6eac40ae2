namespace PolicyLayer.Gateway;

/// <summary>
/// Splits a stream into newline-delimited lines (MCP's stdio framing) with asynchronous reads, never holding
/// more than the limit: a longer line is discarded as it arrives and reported as <see cref="McpMessageReadStatus.TooLong"/>.
/// </summary>
internal sealed class LineReader
{
    private const int InitialSize = 64 * 1024;

    private readonly Stream _stream;
    private readonly int _maxLineBytes;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private int _scanned;
    private bool _ended;

    /// <summary>Creates a reader.</summary>
    /// <param name="stream">The stream to read.</param>
    /// <param name="maxLineBytes">The longest line accepted, without its newline; <see cref="int.MaxValue"/> for no limit.</param>
    public LineReader(Stream stream, int maxLineBytes)
    {
        _stream = stream;
        _maxLineBytes = maxLineBytes;
        // Not zeroed: only bytes a read has written are ever looked at, and zeroing 64 KiB per reader (two per proxy) was
        // measurable in the native proxy's start-up, the first touch of every page included.
        _buffer = GC.AllocateUninitializedArray<byte>(Math.Min(InitialSize, maxLineBytes == int.MaxValue ? InitialSize : maxLineBytes + 1));
    }

    /// <summary>The line found by the last <see cref="ReadAsync"/>, without its newline; valid until the next call.</summary>
    public ReadOnlyMemory<byte> Line { get; private set; }

    /// <summary>
    /// The line and its newline, when it had one, for forwarding byte for byte in a single write; valid until the next call.
    /// </summary>
    public ReadOnlyMemory<byte> LineWithNewline { get; private set; }

    /// <summary>Reads the next line: completes when one is complete or the stream ends.</summary>
    public async ValueTask<McpMessageReadStatus> ReadAsync(CancellationToken cancellationToken)
    {
        var discarding = false;
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _scanned, _end - _scanned);
            if (newline >= 0)
            {
                var start = _start;
                _start = _scanned = newline + 1;
                if (discarding || newline - start > _maxLineBytes)
                {
                    return McpMessageReadStatus.TooLong;
                }

                Line = _buffer.AsMemory(start, newline - start);
                LineWithNewline = _buffer.AsMemory(start, newline - start + 1);
                return McpMessageReadStatus.Message;
            }

            _scanned = _end;
            if (discarding || _end - _start > _maxLineBytes)
            {
                // Too long already: drop what has arrived and go on dropping up to the newline.
                discarding = true;
                _start = _scanned = _end = 0;
            }

            if (_ended)
            {
                return Finish(discarding);
            }

            MakeRoom();
            var read = await _stream.ReadAsync(_buffer.AsMemory(_end, _buffer.Length - _end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _ended = true;
                continue;
            }

            _end += read;
        }
    }

    private McpMessageReadStatus Finish(bool discarding)
    {
        if (discarding)
        {
            return McpMessageReadStatus.TooLong;
        }

        if (_end > _start)
        {
            // A last line without its newline.
            Line = LineWithNewline = _buffer.AsMemory(_start, _end - _start);
            _start = _scanned = _end;
            return McpMessageReadStatus.Message;
        }

        Line = LineWithNewline = default;
        return McpMessageReadStatus.End;
    }

    private void MakeRoom()
    {
        if (_end < _buffer.Length)
        {
            return;
        }

        var used = _end - _start;
        if (_start > 0 && used < _buffer.Length / 2)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, used);
        }
        else
        {
            // Grow to hold one line of the largest size accepted, and its newline.
            var size = (int)Math.Min((long)_buffer.Length * 2, Math.Max((long)_maxLineBytes + 2, _buffer.Length + 1));
            if (size <= _buffer.Length)
            {
                size = _buffer.Length * 2;
            }

            var grown = GC.AllocateUninitializedArray<byte>(size);
            Buffer.BlockCopy(_buffer, _start, grown, 0, used);
            _buffer = grown;
        }

        _scanned -= _start;
        _end = used;
        _start = 0;
    }
}
