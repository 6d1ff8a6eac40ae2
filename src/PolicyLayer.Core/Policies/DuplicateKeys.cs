using System.Buffers;
using System.Text.Json;

namespace PolicyLayer.Policies;

/// <summary>
/// Finds a key written twice in one object of a parsed document, in one pass over the document's objects with pooled
/// tables. It replaces the parser's own check (<see cref="JsonDocumentOptions.AllowDuplicateProperties"/> = false), which
/// cost one to three more parses' time on large policies.
/// </summary>
internal static class DuplicateKeys
{
    /// <summary>What <see cref="Find"/> found.</summary>
    internal enum Outcome
    {
        /// <summary>Every object's keys are distinct.</summary>
        None,

        /// <summary>An object has a key twice, written the same way.</summary>
        Found,

        /// <summary>A key is written with escapes, so two different spellings may be one key: the caller asks the parser.</summary>
        Unsure,
    }

    /// <summary>Whether an object of the document rooted at <paramref name="root"/> (parsed from <paramref name="utf8"/>) has a key twice.</summary>
    public static Outcome Find(JsonElement root, ReadOnlySpan<byte> utf8)
    {
        var finder = new Finder();
        try
        {
            return finder.Visit(root, utf8);
        }
        finally
        {
            finder.Return();
        }
    }

    /// <summary>Of two outcomes for parts of one document, the outcome for the whole: a duplicate found, else unsure, else none.</summary>
    public static Outcome Either(Outcome one, Outcome other) =>
        one == Outcome.Found || other == Outcome.Found ? Outcome.Found
        : one == Outcome.Unsure || other == Outcome.Unsure ? Outcome.Unsure
        : Outcome.None;

    /// <summary>
    /// The keys of one object at a time, in an open-addressing table: a slot holds the key's index + 1, each key its
    /// hash, offset and length in the document's bytes (keys are compared as written, which is exact without escapes).
    /// </summary>
    private struct Finder
    {
        private int[]? _slots;
        private int[]? _hashes;
        private int[]? _offsets;
        private int[]? _lengths;

        public Outcome Visit(JsonElement element, ReadOnlySpan<byte> utf8)
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind is JsonValueKind.Object or JsonValueKind.Array && Visit(item, utf8) is var outcome && outcome != Outcome.None)
                    {
                        return outcome;
                    }
                }

                return Outcome.None;
            }

            if (element.ValueKind != JsonValueKind.Object)
            {
                return Outcome.None;
            }

            var count = element.GetPropertyCount();
            if (count > 1)
            {
                var found = CheckKeys(element, count, utf8);
                if (found != Outcome.None)
                {
                    return found;
                }
            }

            foreach (var property in element.EnumerateObject())
            {
                var value = property.Value;
                if (value.ValueKind is JsonValueKind.Object or JsonValueKind.Array && Visit(value, utf8) is var outcome && outcome != Outcome.None)
                {
                    return outcome;
                }
            }

            return Outcome.None;
        }

        private Outcome CheckKeys(JsonElement element, int count, ReadOnlySpan<byte> utf8)
        {
            // At most half full, so that probes stay short.
            var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)count * 2);
            var slots = Ensure(ref _slots, size).AsSpan(0, size);
            var hashes = Ensure(ref _hashes, count);
            var offsets = Ensure(ref _offsets, count);
            var lengths = Ensure(ref _lengths, count);
            slots.Clear();
            var mask = size - 1;
            var index = 0;
            foreach (var property in element.EnumerateObject())
            {
                var name = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8PropertyName(property);
                if (name.Contains((byte)'\\'))
                {
                    return Outcome.Unsure;
                }

                if (!utf8.Overlaps(name, out var offset))
                {
                    // Not a view of the document's bytes: cannot happen for a document parsed from them.
                    return Outcome.Unsure;
                }

                var hash = Hash(name);
                for (var slot = hash & mask; ; slot = (slot + 1) & mask)
                {
                    var held = slots[slot] - 1;
                    if (held < 0)
                    {
                        slots[slot] = index + 1;
                        break;
                    }

                    if (hashes[held] == hash && utf8.Slice(offsets[held], lengths[held]).SequenceEqual(name))
                    {
                        return Outcome.Found;
                    }
                }

                hashes[index] = hash;
                offsets[index] = offset;
                lengths[index] = name.Length;
                index++;
            }

            return Outcome.None;
        }

        public readonly void Return()
        {
            ReturnOne(_slots);
            ReturnOne(_hashes);
            ReturnOne(_offsets);
            ReturnOne(_lengths);

            static void ReturnOne(int[]? array)
            {
                if (array is not null)
                {
                    ArrayPool<int>.Shared.Return(array);
                }
            }
        }

        private static int[] Ensure(ref int[]? array, int length)
        {
            if (array is null || array.Length < length)
            {
                if (array is not null)
                {
                    ArrayPool<int>.Shared.Return(array);
                }

                array = ArrayPool<int>.Shared.Rent(Math.Max(length, 16));
            }

            return array;
        }

        private static int Hash(ReadOnlySpan<byte> name)
        {
            var hash = default(HashCode);
            hash.AddBytes(name);
            return hash.ToHashCode() & int.MaxValue;
        }
    }
}
