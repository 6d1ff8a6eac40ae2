using System.Numerics;
using System.Runtime.CompilerServices;

namespace PolicyLayer.Policies;

/// <summary>
/// How a loaded policy's tables are allocated. Up to <see cref="LargeTableBytes"/> a table is kept in chunks of 64 KiB,
/// below the runtime's large-object threshold (85,000 bytes): a load of thousands of rules then allocates no large
/// object, fills no large-object budget (which starts full collections) and touches no fresh large-object pages. A
/// larger table (a policy of tens of thousands of rules) is kept in chunks of that size, on the large object heap:
/// copied from generation to generation while the load goes on, it would cost more than fresh pages of its own.
/// Measured both ways (docs/benchmarks.md, session 8): chunks of 64 KiB halve a 10,000-rule load; at 100,000 rules
/// they cost a third more than flat arrays, and 512 KiB chunks bring that back.
/// </summary>
internal static class Chunking
{
    public const int SmallChunkBytes = 64 * 1024;

    public const int LargeTableBytes = 512 * 1024;

    /// <summary>The bytes per chunk of a table of <paramref name="totalBytes"/> bytes.</summary>
    public static int ChunkBytesFor(long totalBytes) => totalBytes > LargeTableBytes ? LargeTableBytes : SmallChunkBytes;
}

/// <summary>
/// An array kept in chunks (see <see cref="Chunking"/>). An item costs one more load than in a flat array.
/// </summary>
internal readonly struct ChunkedArray<T>
{
    private readonly T[][] _chunks;
    private readonly int _shift;

    /// <param name="length">How many items; each is default until written.</param>
    public ChunkedArray(int length)
        : this(length, zeroed: true)
    {
    }

    private ChunkedArray(int length, bool zeroed)
    {
        // Items per chunk: the largest power of two that fits (a chunk's length is then a shift away).
        _shift = BitOperations.Log2((uint)Math.Max(1, Chunking.ChunkBytesFor((long)length * Unsafe.SizeOf<T>()) / Unsafe.SizeOf<T>()));
        var perChunk = 1 << _shift;
        _chunks = new T[(length + perChunk - 1) >> _shift][];
        for (var i = 0; i < _chunks.Length; i++)
        {
            var size = Math.Min(perChunk, length - (i << _shift));
            _chunks[i] = zeroed ? new T[size] : GC.AllocateUninitializedArray<T>(size);
        }

        Length = length;
    }

    public int Length { get; }

    /// <summary>
    /// An array of <paramref name="length"/> items that the caller writes, every one, before any is read: its memory is
    /// not cleared first (unless <typeparamref name="T"/> holds references, which the runtime always clears).
    /// </summary>
    public static ChunkedArray<T> Uninitialized(int length) => new(length, zeroed: false);

    public ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _chunks[index >> _shift][index & ((1 << _shift) - 1)];
    }

    /// <summary>The chunks' lengths, for the tests.</summary>
    internal IEnumerable<int> ChunkLengths => (_chunks ?? []).Select(chunk => chunk.Length);
}

/// <summary>
/// Items of text (a name matcher's keys, the rules' text) one after another in chunks, an item never split (a longer
/// one has a chunk of its own). An item is found by its place: its chunk and its offset there, in one number.
/// </summary>
/// <param name="chunkLength">The most characters or bytes a chunk of several items holds.</param>
internal sealed class ChunkedText(int chunkLength)
{
    // 20 bits of offset (a chunk of several items holds at most 512 Ki, and a longer item starts at 0), 11 of chunk.
    private const int OffsetBits = 20;
    private const int MaxChunks = 1 << (31 - OffsetBits);

    // The lengths of the chunks already full, and how much of the one being filled is used.
    private readonly List<int> _full = [];
    private int _used;

    /// <summary>The place of the next item, of <paramref name="length"/>; items are placed in the order they are written.</summary>
    public int Place(int length)
    {
        if (_used > 0 && _used + length > chunkLength)
        {
            _full.Add(_used);
            _used = 0;
        }

        if (_full.Count >= MaxChunks)
        {
            throw new InvalidOperationException($"More than {MaxChunks} chunks of text: a policy of at most 4 MiB never needs them.");
        }

        var place = (_full.Count << OffsetBits) | _used;
        _used += length;
        return place;
    }

    /// <summary>The chunks, each the length its items fill (not yet written).</summary>
    public T[][] Allocate<T>()
        where T : unmanaged
    {
        var chunks = new T[_full.Count + 1][];
        for (var i = 0; i < chunks.Length; i++)
        {
            chunks[i] = GC.AllocateUninitializedArray<T>(i < _full.Count ? _full[i] : _used);
        }

        return chunks;
    }

    /// <summary>The item of <paramref name="length"/> at <paramref name="place"/>.</summary>
    public static Span<T> At<T>(T[][] chunks, int place, int length) =>
        chunks[place >> OffsetBits].AsSpan(place & ((1 << OffsetBits) - 1), length);

    /// <summary>The item of <paramref name="length"/> at <paramref name="place"/>, as memory.</summary>
    public static Memory<T> MemoryAt<T>(T[][] chunks, int place, int length) =>
        chunks[place >> OffsetBits].AsMemory(place & ((1 << OffsetBits) - 1), length);

    /// <summary>The chunk of <paramref name="place"/> and its offset there.</summary>
    public static (int Chunk, int Offset) Split(int place) => (place >> OffsetBits, place & ((1 << OffsetBits) - 1));
}
