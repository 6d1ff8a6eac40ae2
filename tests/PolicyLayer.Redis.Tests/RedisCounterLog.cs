using System.Buffers.Binary;
using StackExchange.Redis;

namespace PolicyLayer.Redis.Tests;

/// <summary>Reads a counter's packed log (the layout counters.lua documents), so that tests can see what Redis holds.</summary>
internal sealed record RedisCounterLog(double Used, long LastSequence, int Format, IReadOnlyList<long> Tombstones, IReadOnlyList<RedisCounterLog.Entry> Entries)
{
    private const int HeaderSize = 42;

    /// <summary>One entry: its stamp (microseconds since the Unix epoch), the last reservation id it holds, and its units.</summary>
    internal readonly record struct Entry(long StampMicroseconds, long Id, double Units);

    /// <summary>Reads the log of <paramref name="counter"/> and <paramref name="scopeKey"/>; null when the key does not exist.</summary>
    internal static async Task<RedisCounterLog?> ReadAsync(IDatabase database, string prefix, CounterDefinition counter, string scopeKey)
    {
        var blob = (byte[]?)await database.StringGetAsync(RedisCounterKeys.CounterKey(prefix, counter, scopeKey));
        return blob is null ? null : Parse(blob, RedisCounterScript.Quantum(counter));
    }

    internal static RedisCounterLog Parse(ReadOnlySpan<byte> blob, long quantum)
    {
        var @base = BinaryPrimitives.ReadDoubleLittleEndian(blob);
        var used = BinaryPrimitives.ReadDoubleLittleEndian(blob[16..]);
        var sequenceBase = BinaryPrimitives.ReadDoubleLittleEndian(blob[24..]);
        var sequence = BinaryPrimitives.ReadUInt32LittleEndian(blob[32..]);
        var format = blob[40];
        var tombstoneCount = blob[41];
        var tombstones = new List<long>();
        var position = HeaderSize;
        for (var t = 0; t < tombstoneCount; t++, position += 4)
        {
            tombstones.Add((long)sequenceBase + BinaryPrimitives.ReadUInt32LittleEndian(blob[position..]));
        }

        var width = format == 1 ? 7 : 15;
        var entries = new List<Entry>();
        for (; position + width <= blob.Length; position += width)
        {
            var offset = blob[position] | (blob[position + 1] << 8) | (blob[position + 2] << 16);
            var id = (long)sequenceBase + BinaryPrimitives.ReadUInt32LittleEndian(blob[(position + 3)..]);
            var units = format == 1 ? 1 : BinaryPrimitives.ReadDoubleLittleEndian(blob[(position + 7)..]);
            entries.Add(new Entry((long)@base + (offset * quantum), id, units));
        }

        return new RedisCounterLog(used, (long)sequenceBase + sequence, format, tombstones, entries);
    }
}
