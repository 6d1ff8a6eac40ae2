namespace PolicyLayer.Gateway.Tests.Transport;

/// <summary>MCP's stdio framing on the way out: one write per message and its newline, flushed before the write completes.</summary>
public class StdioMessageChannelTests
{
    [Test]
    public async Task WriteAsync_OnAStreamThatWritesAtOnce_WritesTheLineAndFlushesIt_WithoutWaitingForTheThreadPool()
    {
        var output = new RecordingStream();
        var channel = McpMessageChannels.Stdio(new MemoryStream(), output);

        // Stream's default FlushAsync queues the flush to the thread pool, so a write that used it could not be complete
        // on return; flushed in place, it is.
        var write = channel.WriteAsync("""{"jsonrpc":"2.0","id":1,"result":{}}"""u8.ToArray(), CancellationToken.None);
        var completedOnReturn = write.IsCompletedSuccessfully;
        await write;

        completedOnReturn.Should().BeTrue();
        output.Flushes.Should().Be(1);
        output.Writes.Should().ContainSingle().Which.Should().Equal("""{"jsonrpc":"2.0","id":1,"result":{}}"""u8.ToArray().Append((byte)'\n'));
    }

    /// <summary>A write-only stream that completes writes at once and counts its flushes (its FlushAsync is Stream's default).</summary>
    private sealed class RecordingStream : Stream
    {
        public List<byte[]> Writes { get; } = [];

        public int Flushes { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => Flushes++;

        public override void Write(byte[] buffer, int offset, int count) => Writes.Add(buffer.AsSpan(offset, count).ToArray());

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes.Add(buffer.ToArray());
            return ValueTask.CompletedTask;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
