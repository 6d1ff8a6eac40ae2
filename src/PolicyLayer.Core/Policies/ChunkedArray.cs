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
    {
        // Items per chunk: the largest power of two that fits (a chunk's length is then a shift away).
        _shift = BitOperations.Log2((uint)Math.Max(1, Chunking.ChunkBytesFor((long)length * Unsafe.SizeOf<T>()) / Unsafe.SizeOf<T>()));
        var perChunk = 1 << _shift;
        _chunks = new T[(length + perChunk - 1) >> _shift][];
        for (var i = 0; i < _chunks.Length; i++)
        {
            _chunks[i] = new T[Math.Min(perChunk, length - (i << _shift))];
        }

        Length = length;
    }

    public int Length { get; }


    public ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _chunks[index >> _shift][index & ((1 << _shift) - 1)];
    }

    /// <summary>The chunks' lengths, for the tests.</summary>
    internal IEnumerable<int> ChunkLengths => (_chunks ?? []).Select(chunk => chunk.Length);
}
