namespace PolicyLayer.TestUtils.Gateway;

/// <summary>
/// A stream whose asynchronous reads and writes are done in place, blocking the caller (as the proxy's console and its
/// child's pipes are read), and which records whether each read ran on a thread-pool thread.
/// </summary>
public sealed class InPlaceReadStream(Stream inner) : Stream
{
    private int _reads;
    private int _readsOnThePool;

    /// <summary>How many reads were made.</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>How many of them ran on a thread of the thread pool.</summary>
    public int ReadsOnThePool => Volatile.Read(ref _readsOnThePool);

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        Interlocked.Increment(ref _reads);
        if (Thread.CurrentThread.IsThreadPoolThread)
        {
            Interlocked.Increment(ref _readsOnThePool);
        }

        return inner.Read(buffer);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        inner.Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
