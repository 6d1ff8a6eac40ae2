namespace PolicyLayer.Gateway.Tests.Http;

/// <summary>Reading one HTTP body (a client's POST, an upstream's JSON answer): its exact bytes, never more than the limit held.</summary>
public class HttpBodyTests
{
    [Test]
    public async Task AnnouncedLength_IsReadWhole_IntoAnArrayOfThatSize()
    {
        var bytes = Bytes(10_000);

        var body = await HttpBody.ReadAsync(new TrickleStream(bytes, chunk: 777), bytes.Length, limit: 1 << 20, CancellationToken.None);

        body.Should().Equal(bytes);
    }

    [Test]
    public async Task AnnouncedLength_OverTheLimit_IsRefused_WithoutReadingTheBody()
    {
        var stream = new TrickleStream(Bytes(2_000), chunk: 100);

        var body = await HttpBody.ReadAsync(stream, contentLength: 2_000, limit: 1_999, CancellationToken.None);

        body.Should().BeNull();
        stream.BytesRead.Should().Be(0);
    }

    [Test]
    public async Task ChunkedBody_OverSeveralPooledBuffers_IsReadWhole()
    {
        var bytes = Bytes(50_000);

        var body = await HttpBody.ReadAsync(new TrickleStream(bytes, chunk: 1_000), contentLength: null, limit: 1 << 20, CancellationToken.None);

        body.Should().Equal(bytes);
    }

    [Test]
    public async Task ChunkedBody_ExactlyAtTheLimit_IsAccepted()
    {
        var bytes = Bytes(4_096 * 3);

        var body = await HttpBody.ReadAsync(new TrickleStream(bytes, chunk: 4_096), contentLength: null, limit: bytes.Length, CancellationToken.None);

        body.Should().Equal(bytes);
    }

    [Test]
    public async Task ChunkedBody_WithoutEnd_IsRefused_OnceItPassesTheLimit_HavingReadNoMoreThanOneByteOverIt()
    {
        var endless = new TrickleStream(length: long.MaxValue, chunk: 8_192);

        var body = await HttpBody.ReadAsync(endless, contentLength: null, limit: 100_000, CancellationToken.None);

        body.Should().BeNull();
        endless.BytesRead.Should().Be(100_001);
    }

    private static byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A body that arrives <c>chunk</c> bytes per read at most: given bytes, or zeros without end.</summary>
    private sealed class TrickleStream : Stream
    {
        private readonly byte[]? _bytes;
        private readonly long _length;
        private readonly int _chunk;

        public TrickleStream(byte[] bytes, int chunk)
        {
            _bytes = bytes;
            _length = bytes.Length;
            _chunk = chunk;
        }

        public TrickleStream(long length, int chunk)
        {
            _length = length;
            _chunk = chunk;
        }

        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(Math.Min(buffer.Length, _chunk), _length - BytesRead);
            if (_bytes is not null)
            {
                _bytes.AsSpan((int)BytesRead, n).CopyTo(buffer);
            }
            else
            {
                buffer[..n].Clear();
            }

            BytesRead += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
