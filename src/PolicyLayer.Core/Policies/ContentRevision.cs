using System.Buffers;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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

    /// <summary>The revision of the document <paramref name="root"/>, parsed from <paramref name="utf8"/> (without a byte order mark).</summary>
    public static string Of(JsonElement root, ReadOnlySpan<byte> utf8) => OfSource(utf8) ?? Written(root, utf8.Length);

    /// <summary>The revision of the well-formed document <paramref name="utf8"/> (without a byte order mark), parsed here only if its text must be written.</summary>
    public static string Of(ReadOnlySpan<byte> utf8)
    {
        if (OfSource(utf8) is { } revision)
        {
            return revision;
        }

        using var document = JsonDocument.Parse(utf8.ToArray(), new JsonDocumentOptions { MaxDepth = PolicyLimits.MaxDepth });
        return Written(document.RootElement, utf8.Length);
    }

    /// <summary>The revision hashed from the source in one pass, or null when its text must be written (see <see cref="TryHashSource"/>).</summary>
    private static string? OfSource(ReadOnlySpan<byte> utf8)
    {
        using var hash = new ContentHash(utf8.Length);
        return TryHashSource(utf8, hash) ? Revision(hash) : null;
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
    /// <remarks>
    /// One pass in blocks of 64 bytes, each classified with vector compares into bit masks: quotes, whitespace and the
    /// bytes a string may not hold. Since no string may hold a backslash, a quote always opens or closes one, so the bytes
    /// inside strings are the prefix XOR of the quote mask (carried from block to block). Whitespace outside strings is
    /// dropped; a block without any is copied whole.
    /// </remarks>
    internal static bool TryHashSource(ReadOnlySpan<byte> utf8, ContentHash hash)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var filled = 0;
            var inString = 0UL; // all ones while a string is open at the end of the last block
            Span<byte> tail = stackalloc byte[Block];
            while (!utf8.IsEmpty)
            {
                scoped ReadOnlySpan<byte> block;
                if (utf8.Length >= Block)
                {
                    block = utf8[..Block];
                }
                else
                {
                    // The last bytes, padded with spaces: outside a string they are dropped, and a well-formed document
                    // ends outside one.
                    tail.Fill((byte)' ');
                    utf8.CopyTo(tail);
                    block = tail;
                }

                var (quotes, spaces, unsafeBytes) = Classify(block);
                var strings = PrefixXor(quotes) ^ inString;
                inString = (ulong)((long)strings >> 63);

                // Inside a string: its opening quote and content (the closing quote reads as outside).
                if ((unsafeBytes & strings) != 0)
                {
                    return false;
                }

                var dropped = spaces & ~strings;
                var length = Math.Min(Block, utf8.Length);
                if (filled > buffer.Length - Block)
                {
                    hash.Append(buffer.AsSpan(0, filled));
                    filled = 0;
                }

                if (dropped == 0)
                {
                    block[..length].CopyTo(buffer.AsSpan(filled));
                    filled += length;
                }
                else if (CanCompress)
                {
                    // The kept bytes moved together in one instruction, all 64 written (the buffer has room for a block).
                    var kept = length < Block ? ~dropped & ((1UL << length) - 1) : ~dropped;
                    Compress(block, kept, buffer.AsSpan(filled, Block));
                    filled += BitOperations.PopCount(kept);
                }
                else
                {
                    // The runs between dropped bytes.
                    var kept = ~dropped;
                    if (length < Block)
                    {
                        kept &= (1UL << length) - 1;
                    }

                    while (kept != 0)
                    {
                        var from = BitOperations.TrailingZeroCount(kept);
                        var run = BitOperations.TrailingZeroCount(~(kept >> from));
                        block.Slice(from, run).CopyTo(buffer.AsSpan(filled));
                        filled += run;
                        kept &= run + from >= 64 ? 0 : ~0UL << (from + run);
                    }
                }

                utf8 = utf8[length..];
            }

            hash.Append(buffer.AsSpan(0, filled));
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private const int Block = 64;

    /// <summary>Whether <see cref="Compress"/> runs here: AVX-512 with VBMI2 (its byte compress). The tests turn it off to run the other way.</summary>
    internal static bool CanCompress { get; set; } = Avx512Vbmi2.IsSupported && Avx512BW.IsSupported;

    /// <summary>
    /// Writes the bytes of the 64-byte <paramref name="block"/> whose bits are set in <paramref name="kept"/>, in order, to
    /// the start of <paramref name="destination"/> (64 bytes, the rest of which is overwritten).
    /// </summary>
    internal static void Compress(ReadOnlySpan<byte> block, ulong kept, Span<byte> destination)
    {
        // The mask as a vector: byte i all ones when bit i is set. Every 128-bit lane of the broadcast holds the mask's
        // eight bytes twice, so an in-lane shuffle puts mask byte i / 8 at byte i, and the bit of i % 8 is tested.
        var broadcast = Vector512.Create(kept).AsByte();
        var spread = Avx512BW.Shuffle(broadcast, Vector512.Create(
            (byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
            4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5,
            6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7));
        var bits = Vector512.Create((byte)1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128,
            1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128,
            1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128,
            1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
        var mask = Vector512.Equals(spread & bits, bits);
        Avx512Vbmi2.Compress(Vector512<byte>.Zero, mask, Vector512.Create(block)).CopyTo(destination);
    }

    /// <summary>
    /// Bit i of each mask is byte i of the 64-byte <paramref name="block"/>: a quote; whitespace (in well-formed JSON
    /// every byte up to the space outside a string is whitespace, and inside one only the space can be); a byte the writer
    /// may write differently inside a string (a backslash, any byte from DEL up, and what its default encoder escapes:
    /// <c>&amp; ' + &lt; &gt; `</c>).
    /// </summary>
    /// <remarks>One 512-bit vector per block; a processor without AVX-512 runs it as two 256-bit halves.</remarks>
    private static (ulong Quotes, ulong Spaces, ulong Unsafe) Classify(ReadOnlySpan<byte> block)
    {
        var bytes = Vector512.Create(block);
        var escaped = Vector512.GreaterThan(bytes, Vector512.Create((byte)0x7E))
            | Vector512.Equals(bytes, Vector512.Create((byte)'\\'))
            | Vector512.Equals(bytes, Vector512.Create((byte)'&'))
            | Vector512.Equals(bytes, Vector512.Create((byte)'\''))
            | Vector512.Equals(bytes, Vector512.Create((byte)'+'))
            | Vector512.Equals(bytes, Vector512.Create((byte)'<'))
            | Vector512.Equals(bytes, Vector512.Create((byte)'>'))
            | Vector512.Equals(bytes, Vector512.Create((byte)'`'));
        return (
            Vector512.Equals(bytes, Vector512.Create((byte)'"')).ExtractMostSignificantBits(),
            Vector512.LessThanOrEqual(bytes, Vector512.Create((byte)' ')).ExtractMostSignificantBits(),
            escaped.ExtractMostSignificantBits());
    }

    /// <summary>Bit i is the XOR of bits 0 to i: set from a quote that opens a string up to the byte before the one that closes it.</summary>
    private static ulong PrefixXor(ulong bits)
    {
        bits ^= bits << 1;
        bits ^= bits << 2;
        bits ^= bits << 4;
        bits ^= bits << 8;
        bits ^= bits << 16;
        bits ^= bits << 32;
        return bits;
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
