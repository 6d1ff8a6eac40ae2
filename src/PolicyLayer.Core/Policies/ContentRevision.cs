using System.Buffers;
using System.Text.Json;

namespace PolicyLayer.Policies;

/// <summary>
/// A document's content revision: the first 12 hex digits of the SHA-256 of the document written without insignificant
/// whitespace (as <see cref="JsonElement.WriteTo"/> writes it compactly). The same content gives the same revision
/// however it is indented, and any change of content gives another.
/// </summary>
/// <remarks>
/// Writing the document again costs about a tenth of a load. When every string of the source is one the writer copies
/// as it is (printable ASCII without escapes and without the characters its default encoder escapes), the compact form
/// is the source minus its whitespace, and the source is hashed in one pass instead; otherwise it is written.
/// </remarks>
internal static class ContentRevision
{
    private const int BufferSize = 16 * 1024;

    // Outside strings: the bytes that are not copied (whitespace) or that start a string.
    private static readonly SearchValues<byte> WhitespaceOrQuote = SearchValues.Create(" \t\r\n\""u8);

    // Inside strings: the bytes the writer copies as they are. Printable ASCII but for the closing quote, the escape
    // character and what the default encoder escapes (&, ', +, <, >, `); any other byte (a control character cannot be
    // there unescaped) means the writer may write the string differently.
    private static readonly SearchValues<byte> CopiedInString = SearchValues.Create(
        " !#$%()*,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~"u8);

    /// <summary>The revision of the document <paramref name="root"/>, parsed from <paramref name="utf8"/> (without a byte order mark).</summary>
    public static string Of(JsonElement root, ReadOnlySpan<byte> utf8)
    {
        using (var hash = new ContentHash(utf8.Length))
        {
            if (TryHashSource(utf8, hash))
            {
                return Revision(hash);
            }
        }

        return Written(root, utf8.Length);
    }

    /// <summary>The revision as the writer makes it: the reference every document's revision equals.</summary>
    internal static string Written(JsonElement root, int sourceLength)
    {
        // Hashed as it is written, through one small buffer: the compact form is never held whole. A small source is
        // hashed in managed code, so that loading it does not load OpenSSL (the digest is the same either way).
        using var hash = new ContentHash(sourceLength);
        using (var writer = new Utf8JsonWriter(new HashingBufferWriter(hash), new JsonWriterOptions { Indented = false, SkipValidation = true }))
        {
            root.WriteTo(writer);
        }

        return Revision(hash);
    }

    /// <summary>The revision of what <paramref name="hash"/> was given: its digest's first 6 bytes, in lower-case hex.</summary>
    private static string Revision(ContentHash hash)
    {
        Span<byte> digest = stackalloc byte[ManagedSha256.HashSizeInBytes];
        hash.GetHash(digest);
        return Convert.ToHexStringLower(digest[..6]);
    }

    /// <summary>
    /// Hashes the well-formed JSON <paramref name="utf8"/> without its insignificant whitespace; false (the hash then
    /// holds part of it) when a string has a byte the writer might not copy as it is.
    /// </summary>
    internal static bool TryHashSource(ReadOnlySpan<byte> utf8, ContentHash hash)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        var filled = 0;
        try
        {
            while (!utf8.IsEmpty)
            {
                var at = utf8.IndexOfAny(WhitespaceOrQuote);
                if (at < 0)
                {
                    Copy(utf8);
                    break;
                }

                Copy(utf8[..at]);
                if (utf8[at] != (byte)'"')
                {
                    utf8 = utf8[(at + 1)..];
                    continue;
                }

                // A string, from its opening quote: copied whole if the writer would write it the same.
                var content = utf8[(at + 1)..];
                var end = content.IndexOfAnyExcept(CopiedInString);
                if (end < 0 || content[end] != (byte)'"')
                {
                    return false;
                }

                Copy(utf8.Slice(at, end + 2));
                utf8 = content[(end + 1)..];
            }

            hash.Append(buffer.AsSpan(0, filled));
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        // Many short runs (an indented document's) go to the hash in blocks, not one call each.
        void Copy(ReadOnlySpan<byte> run)
        {
            if (run.Length > buffer.Length - filled)
            {
                hash.Append(buffer.AsSpan(0, filled));
                filled = 0;
                if (run.Length > buffer.Length)
                {
                    hash.Append(run);
                    return;
                }
            }

            run.CopyTo(buffer.AsSpan(filled));
            filled += run.Length;
        }
    }

    /// <summary>Feeds what a <see cref="Utf8JsonWriter"/> writes to a hash, reusing one buffer instead of keeping the output.</summary>
    private sealed class HashingBufferWriter(ContentHash hash) : IBufferWriter<byte>
    {
        private byte[] _buffer = new byte[BufferSize];

        public void Advance(int count) => hash.Append(_buffer.AsSpan(0, count));

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            if (sizeHint > _buffer.Length)
            {
                _buffer = new byte[sizeHint];
            }

            return _buffer;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}
