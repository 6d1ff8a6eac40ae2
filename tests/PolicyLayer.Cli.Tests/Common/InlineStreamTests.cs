using FluentAssertions;
using NUnit.Framework;
using PolicyLayer.Cli.Common;

namespace PolicyLayer.Cli.Tests.Common;

public sealed class InlineStreamTests
{
    [Test]
    public async Task ReadAsync_ReadsOnTheCallingThread_AndIsCompleteWhenItReturns()
    {
        var inner = new ThreadRecordingStream(new MemoryStream("{\"a\":1}\n"u8.ToArray()));
        using var stream = new InlineStream(inner);
        var buffer = new byte[64];
        var caller = Environment.CurrentManagedThreadId;

        var read = stream.ReadAsync(buffer.AsMemory());

        read.IsCompleted.Should().BeTrue("the console's read is made in place, not queued to the thread pool");
        inner.ReadThread.Should().Be(caller);
        (await read).Should().Be(8);
        buffer.AsSpan(0, 8).ToArray().Should().Equal("{\"a\":1}\n"u8.ToArray());
    }

    [Test]
    public async Task WriteAsync_WritesOnTheCallingThread_AndIsCompleteWhenItReturns()
    {
        var inner = new ThreadRecordingStream(new MemoryStream());
        using var stream = new InlineStream(inner);
        var caller = Environment.CurrentManagedThreadId;

        var write = stream.WriteAsync("{\"b\":2}\n"u8.ToArray().AsMemory());

        write.IsCompleted.Should().BeTrue("the console's write is made in place, not queued to the thread pool");
        inner.WriteThread.Should().Be(caller);
        await write;
        ((MemoryStream)inner.Inner).ToArray().Should().Equal("{\"b\":2}\n"u8.ToArray());
    }

    [Test]
    public async Task ReadAndWrite_OfAClosedStream_FailWithTheStreamsError_AndACancelledTokenIsHonoured()
    {
        var closed = new MemoryStream();
        using var stream = new InlineStream(closed);
        closed.Dispose();

        var read = () => stream.ReadAsync(new byte[4].AsMemory()).AsTask();
        var write = () => stream.WriteAsync(new byte[4].AsMemory()).AsTask();
        var cancelled = () => stream.ReadAsync(new byte[4].AsMemory(), new CancellationToken(canceled: true)).AsTask();

        await read.Should().ThrowAsync<ObjectDisposedException>();
        await write.Should().ThrowAsync<ObjectDisposedException>();
        await cancelled.Should().ThrowAsync<OperationCanceledException>();
    }

    /// <summary>Notes the thread of the last synchronous read and write, the only calls <see cref="InlineStream"/> may make.</summary>
    private sealed class ThreadRecordingStream(Stream inner) : Stream
    {
        public Stream Inner => inner;

        public int ReadThread { get; private set; } = -1;

        public int WriteThread { get; private set; } = -1;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            ReadThread = Environment.CurrentManagedThreadId;
            return inner.Read(buffer);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("InlineStream must read synchronously.");

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            WriteThread = Environment.CurrentManagedThreadId;
            inner.Write(buffer);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("InlineStream must write synchronously.");

        public override void Flush() => inner.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
