using System.Buffers;

namespace PolicyLayer.Gateway;

/// <summary>
/// Reads one HTTP message body (a client's POST, an upstream's JSON answer) into an array of exactly its size, never
/// holding more than the limit: with a Content-Length, one array of that size and nothing else; without one (chunked),
/// pooled chunks while it arrives.
/// </summary>
internal static class HttpBody
{
    private const int ChunkSize = 4096;

    /// <summary>Reads the body to its end.</summary>
    /// <param name="stream">The body.</param>
    /// <param name="contentLength">The Content-Length the framing holds the body to, when there is one.</param>
    /// <param name="limit">The longest body accepted, in bytes.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The body, or <see langword="null"/> when it is longer than <paramref name="limit"/> (then it is not read further).</returns>
    public static async ValueTask<byte[]?> ReadAsync(Stream stream, long? contentLength, int limit, CancellationToken cancellationToken)
    {
        if (contentLength is { } length)
        {
            if (length > limit)
            {
                return null;
            }

            var body = length == 0 ? [] : new byte[length];
            await stream.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
            return body;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var written = 0;
        try
        {
            while (true)
            {
                if (written == buffer.Length)
                {
                    var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, limit + 1L));
                    buffer.AsSpan(0, written).CopyTo(grown);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = grown;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(written, (int)Math.Min(buffer.Length, limit + 1L) - written), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer.AsSpan(0, written).ToArray();
                }

                written += read;
                if (written > limit)
                {
                    return null;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
