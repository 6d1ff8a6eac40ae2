using System.Numerics;
using System.Runtime.CompilerServices;

namespace PolicyLayer.Policies;

/// <summary>
/// An array kept in chunks of at most 64 KiB, below the runtime's large-object threshold (85,000 bytes): the tables a
/// large policy loads into allocate no large object, so a load fills no large-object budget (which starts full
/// collections) and touches no fresh large-object pages. An item costs one more load than in a flat array.
/// </summary>
internal readonly struct ChunkedArray<T>
{
    private const int ChunkBytes = 64 * 1024;

    private readonly T[][] _chunks;
    private readonly int _shift;

    /// <param name="length">How many items; each is default until written.</param>
    public ChunkedArray(int length)
    {
        // Items per chunk: the largest power of two that fits (a chunk's length is then a shift away).
        _shift = BitOperations.Log2((uint)Math.Max(1, ChunkBytes / Unsafe.SizeOf<T>()));
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
