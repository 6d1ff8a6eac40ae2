using System.Buffers;
using System.Numerics;

namespace PolicyLayer.Policies;

/// <summary>
/// The order in which a load files items into one of its open-addressing tables: by the region of the table each
/// item's hash falls in, a counting sort of the hashes, so that the writes move through the table region by region
/// instead of jumping across all of it.
/// </summary>
/// <remarks>
/// The table of a policy of 100,000 rules (2 MiB) is as large as a core's second-level cache: filed in document order,
/// nearly every item misses it, and per item the filing then costs about 1.4 times what it does at 10,000 rules. Filed
/// region by region it stays near the 10,000-rule cost (docs/benchmarks.md, "Policy load, session 10"). A table of one
/// region (up to <see cref="RegionSlots"/> slots) is filed in item order, as before. The order adds two passes over an
/// array of 8 bytes per item; it can change which slot of a run of colliding items an item takes, never whether it is
/// found.
/// </remarks>
internal static class SlotOrder
{
    /// <summary>Slots per region: 16 KiB of 8-byte slots, within a core's first-level cache.</summary>
    internal const int RegionSlots = 2048;

    /// <summary>
    /// Writes into <paramref name="order"/> one entry per hash, <c>(hash &lt;&lt; 32) | item</c>, sorted by the region of
    /// the slot <c>hash &amp; mask</c>; within a region the items keep their order, so that of two equal keys the first
    /// is filed first.
    /// </summary>
    /// <param name="hashes">Each item's hash, by item.</param>
    /// <param name="mask">The table's length (a power of two) minus one.</param>
    /// <param name="order">At least as long as <paramref name="hashes"/>.</param>
    public static void Sort(ReadOnlySpan<int> hashes, int mask, Span<ulong> order)
    {
        var shift = BitOperations.Log2((uint)Math.Min(mask + 1, RegionSlots));
        var regions = (mask + 1) >> shift;
        var starts = ArrayPool<int>.Shared.Rent(regions + 1);
        try
        {
            var next = starts.AsSpan(0, regions + 1);
            next.Clear();
            foreach (var hash in hashes)
            {
                next[((hash & mask) >> shift) + 1]++;
            }

            for (var region = 1; region < next.Length; region++)
            {
                next[region] += next[region - 1];
            }

            for (var item = 0; item < hashes.Length; item++)
            {
                var hash = hashes[item];
                order[next[(hash & mask) >> shift]++] = ((ulong)(uint)hash << 32) | (uint)item;
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(starts);
        }
    }

    /// <summary>The hash of an entry of <see cref="Sort"/>'s order.</summary>
    public static int Hash(ulong entry) => (int)(entry >> 32);

    /// <summary>The item of an entry of <see cref="Sort"/>'s order.</summary>
    public static int Item(ulong entry) => (int)(uint)entry;
}
