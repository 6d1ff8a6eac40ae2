using System.Runtime.CompilerServices;
using System.Buffers;

namespace PolicyLayer.Policies;

/// <summary>
/// Looks a tool name up among exact keys and globs: the exact name first, else the most specific glob
/// (fewest wildcards, then the longest pattern, then document order), found through a <see cref="GlobIndex"/>.
/// </summary>
/// <remarks>
/// Built in a few passes over the keys and counting sorts of integers. Every key's characters are in one run of chunks and every
/// exact key is filed in one open-addressing table of (hash, key) pairs (in <see cref="SlotOrder"/>), so that a name written twice is noticed
/// (<see cref="DuplicateKey"/>; a glob written twice is noticed by the glob index, among the globs that share its literal end)
/// and an exact name is found with one hash and one comparison; a key read straight from
/// the document (<see cref="Builder.Reserve"/>) never becomes a string of its own, and a glob's pattern is a range of
/// the same array. The globs are ranked by a counting sort of their wildcard counts and lengths (a packed sort key when a glob
/// is thousands of characters long) rather than by comparisons through a delegate. The working
/// arrays come from the pool (the builder's grow only when the reader's estimate of the keys falls short).
/// </remarks>
internal sealed class NameMatcher<T>
{
    // Every key's characters, one after another in chunks (see ChunkedText): key k is _rows[k].Length characters at the
    // place _rows[k].Start. Every table is a ChunkedArray: see Chunking for their sizes.
    private readonly char[][] _chars;
    private readonly ChunkedArray<KeyRow> _rows;

    // The keys by hash: a power of two, at most two thirds full; a slot holds a key's hash and its row plus one (0: empty).
    private readonly ChunkedArray<TableSlot> _table;
    private readonly int _tableMask;
    private readonly ChunkedArray<T> _exactValues;
    private readonly int _exactCount;

    // The globs most specific first, and their values at the same ranks: the index shares the globs' array.
    private readonly ChunkedArray<GlobPattern> _globs;
    private readonly ChunkedArray<T> _globValues;
    private readonly GlobIndex _index;

    // The globs' texts as strings, by rank, made when a match names one (a glob's pattern is a range of _chars); the
    // array itself is made on the first such match, as most globs of a large policy are never named.
    private string?[]? _globKeys;

    public NameMatcher(IEnumerable<KeyValuePair<string, T>> entries)
        : this((entries as KeyValuePair<string, T>[] ?? [.. entries]).AsSpan())
    {
    }

    /// <summary>Builds the matcher from the document's entries in document order.</summary>
    public NameMatcher(ReadOnlySpan<KeyValuePair<string, T>> entries)
        : this(Fill(entries))
    {
    }

    /// <summary>Builds the matcher from the keys added to <paramref name="builder"/> (in document order), and gives back what it rented.</summary>
    public NameMatcher(Builder builder)
    {
        try
        {
            var count = builder.Count;
            var rows = ChunkedArray<KeyRow>.Uninitialized(count);
            // The exact keys only (a glob's duplicate is found by the glob index, among the globs that share its end); at
            // most two thirds full: a miss ends at an empty slot after a few probes.
            var table = new ChunkedArray<TableSlot>(Math.Max(2, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(((count - builder.GlobCount) * 3 / 2) + 1))));
            var mask = table.Length - 1;
            var chars = CopyKeys(builder, rows);
            var exactValues = new ChunkedArray<T>(count - builder.GlobCount);
            var repeats = FileKeys(builder, rows, chars, table, mask);

            // In document order, each exact key's value slot; a name written again sets its first writing's value (the last
            // value wins, as a JSON object's last member would; the reader reports the key). A glob has no exact slot (-1).
            var exactCount = 0;
            var nextRepeat = 0;
            for (var key = 0; key < count; key++)
            {
                ref var row = ref rows[key];
                if (builder.IsGlob(key))
                {
                    row = row with { Slot = -1 };
                }
                else if (nextRepeat < repeats.Length && repeats[nextRepeat].Key == key)
                {
                    exactValues[rows[repeats[nextRepeat++].First].Slot] = builder.Value(key);
                }
                else
                {
                    row = row with { Slot = exactCount };
                    exactValues[exactCount++] = builder.Value(key);
                }
            }

            // Each glob's pattern is its range of the key characters: no string per glob. Its shape was found as it was added.
            var globCount = builder.GlobCount;
            var shapes = builder.GlobShapes;
            var ranked = Rank(shapes);
            var globs = new ChunkedArray<GlobPattern>(globCount);
            var globValues = new ChunkedArray<T>(globCount);
            var endHashes = ArrayPool<int>.Shared.Rent(globCount);
            for (var rank = 0; rank < globCount; rank++)
            {
                var g = ranked[rank];
                var key = builder.GlobKey(g);
                var (chunk, offset) = ChunkedText.Split(rows[key].Start);
                globs[rank] = new GlobPattern(chars[chunk], offset, shapes[g]);
                globValues[rank] = builder.Value(key);
                endHashes[rank] = builder.GlobEndHash(g);
            }

            // The first key written a second time, in document order: an exact name (found as the keys were filed) or a
            // glob (found by the index, among the globs that share an end).
            var index = new GlobIndex(globs, endHashes.AsSpan(0, globCount));
            ArrayPool<int>.Shared.Return(endHashes);
            var repeated = repeats.Length > 0 ? repeats[0].Key : int.MaxValue;
            foreach (var rank in index.Repeats)
            {
                repeated = Math.Min(repeated, builder.GlobKey(ranked[rank]));
            }

            if (repeated != int.MaxValue)
            {
                DuplicateKey = new string(KeyText(rows, chars, repeated));
            }

            ArrayPool<int>.Shared.Return(ranked);
            _chars = chars;
            _rows = rows;
            _table = table;
            _tableMask = mask;
            _exactValues = exactValues;
            _exactCount = exactCount;
            _globs = globs;
            _globValues = globValues;
            _index = index;
        }
        finally
        {
            builder.Dispose();
        }
    }

    /// <summary>
    /// Copies every key's characters from the builder into chunks (see <see cref="ChunkedText"/>), and writes each key's
    /// place and length in its row (its <see cref="KeyRow.Slot"/> once the key is known not to be a duplicate).
    /// </summary>
    private static char[][] CopyKeys(Builder builder, ChunkedArray<KeyRow> rows)
    {
        // The keys are placed in the order they were added, one after another within a chunk: each chunk is one range of
        // the builder's characters, copied whole (where its first key starts is noted as the chunk is begun).
        var all = builder.Chars;
        var layout = new ChunkedText(Chunking.ChunkBytesFor((long)all.Length * sizeof(char)) / sizeof(char));
        var firsts = new List<int>(1);
        for (var key = 0; key < builder.Count; key++)
        {
            var (start, length) = builder.Range(key);
            var place = layout.Place(length);
            if (ChunkedText.Split(place) is (var chunk, 0) && chunk == firsts.Count)
            {
                firsts.Add(start);
            }

            rows[key] = new KeyRow(place, length, 0);
        }

        var chunks = layout.Allocate<char>();
        for (var chunk = 0; chunk < firsts.Count; chunk++)
        {
            all.Slice(firsts[chunk], chunks[chunk].Length).CopyTo(chunks[chunk]);
        }

        return chunks;
    }

    /// <summary>
    /// Files every exact key (not the globs) in <paramref name="table"/> (every row's place and length written), in <see cref="SlotOrder"/>,
    /// and gives back the names written a second time, in document order, each with the key whose writing it repeats.
    /// </summary>
    private static (int Key, int First)[] FileKeys(Builder builder, ChunkedArray<KeyRow> rows, char[][] chars, ChunkedArray<TableSlot> table, int mask)
    {
        var count = builder.Count - builder.GlobCount;
        var hashes = ArrayPool<int>.Shared.Rent(Math.Max(count, 1));
        var keys = ArrayPool<int>.Shared.Rent(Math.Max(count, 1));
        var order = ArrayPool<ulong>.Shared.Rent(Math.Max(count, 1));
        List<(int Key, int First)>? repeats = null;
        try
        {
            // The exact keys, in document order (item i of the sort is the key keys[i]).
            for (int key = 0, exact = 0; exact < count; key++)
            {
                if (!builder.IsGlob(key))
                {
                    keys[exact] = key;
                    hashes[exact++] = KeyHash.Of(KeyText(rows, chars, key));
                }
            }

            SlotOrder.Sort(hashes.AsSpan(0, count), mask, order);
            foreach (var entry in order.AsSpan(0, count))
            {
                var (hash, key) = (SlotOrder.Hash(entry), keys[SlotOrder.Item(entry)]);
                var slot = hash & mask;

                // A key's characters are read only where a slot holds its hash: a key written twice, or two of one hash.
                while (table[slot] is { RowPlusOne: not 0 } held
                    && !(held.Hash == hash && KeyText(rows, chars, held.RowPlusOne - 1).SequenceEqual(KeyText(rows, chars, key))))
                {
                    slot = (slot + 1) & mask;
                }

                if (table[slot].RowPlusOne is var first and not 0)
                {
                    // Within a region the keys keep document order: the key already filed is the first writing.
                    (repeats ??= []).Add((key, first - 1));
                    continue;
                }

                table[slot] = new TableSlot(hash, key + 1);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(hashes);
            ArrayPool<int>.Shared.Return(keys);
            ArrayPool<ulong>.Shared.Return(order);
        }

        if (repeats is null)
        {
            return [];
        }

        repeats.Sort();
        return [.. repeats];
    }

    private static ReadOnlySpan<char> KeyText(ChunkedArray<KeyRow> rows, char[][] chars, int key) => Text(chars, rows[key].Start, rows[key].Length);

    private static ReadOnlySpan<char> Text(char[][] chars, int place, int length) => ChunkedText.At(chars, place, length);

    private static Builder Fill(ReadOnlySpan<KeyValuePair<string, T>> entries)
    {
        var chars = 0;
        foreach (var (key, _) in entries)
        {
            chars += key.Length;
        }

        var builder = new Builder(entries.Length, chars);
        foreach (var (key, value) in entries)
        {
            builder.Add(key, value);
        }

        return builder;
    }

    /// <summary>Where a key's characters are (a place in the chunks), and its exact value's slot (-1 for a glob).</summary>
    private readonly record struct KeyRow(int Start, int Length, int Slot);

    /// <summary>A slot of the table: the key's hash (compared before its text) and its row plus one.</summary>
    private readonly record struct TableSlot(int Hash, int RowPlusOne);

    public static NameMatcher<T> Empty { get; } = new([]);

    public int Count => _exactCount + _globs.Length;

    /// <summary>The first key (in document order) written a second time, or null when every key is distinct.</summary>
    public string? DuplicateKey { get; }

    /// <summary>The size in bytes of every array the matcher keeps, its glob index's too, for the tests.</summary>
    internal IEnumerable<long> ArrayBytes =>
        _chars.Select(chunk => (long)chunk.Length * sizeof(char))
            .Concat(_rows.ChunkLengths.Select(length => (long)length * Unsafe.SizeOf<KeyRow>()))
            .Concat(_table.ChunkLengths.Select(length => (long)length * Unsafe.SizeOf<TableSlot>()))
            .Concat(_exactValues.ChunkLengths.Concat(_globValues.ChunkLengths).Select(length => (long)length * Unsafe.SizeOf<T>()))
            .Concat(_globs.ChunkLengths.Select(length => (long)length * Unsafe.SizeOf<GlobPattern>()))
            .Concat(_index.ArrayBytes);

    /// <summary>
    /// The keys of a matcher being read, in document order, in rented arrays: the characters of every key one after
    /// another, and the values. A key (exact name or glob) can be written straight into the characters
    /// (<see cref="Reserve"/>, then <see cref="Add(int, T)"/>) without becoming a string. Handed to the matcher's
    /// constructor, which gives the arrays back.
    /// </summary>
    public sealed class Builder : IDisposable
    {
        private char[] _chars;
        private int _length;

        // Key k's characters start at _starts[k] and end at _starts[k + 1].
        private int[] _starts;
        private T[] _values;
        private bool[] _isGlob;

        // The key each glob is, in document order, its shape, and the hash of the end a glob index files it under.
        private int[] _globAt;
        private GlobShape[] _globShapes;
        private int[] _globEndHashes;

        /// <param name="keys">About how many keys will be added (the arrays grow past it).</param>
        /// <param name="chars">About how many characters they hold.</param>
        public Builder(int keys, int chars)
        {
            keys = Math.Max(keys, 1);
            _chars = ArrayPool<char>.Shared.Rent(Math.Max(chars, 16));
            _starts = ArrayPool<int>.Shared.Rent(keys + 1);
            _values = ArrayPool<T>.Shared.Rent(keys);
            _isGlob = ArrayPool<bool>.Shared.Rent(keys);
            _globAt = ArrayPool<int>.Shared.Rent(keys);
            _globShapes = ArrayPool<GlobShape>.Shared.Rent(keys);
            _globEndHashes = ArrayPool<int>.Shared.Rent(keys);
            _starts[0] = 0;
        }

        public int Count { get; private set; }

        public int GlobCount { get; private set; }

        internal ReadOnlySpan<char> Chars => _chars.AsSpan(0, _length);

        internal (int Start, int Length) Range(int key) => (_starts[key], _starts[key + 1] - _starts[key]);

        internal bool IsGlob(int key) => _isGlob[key];

        internal T Value(int key) => _values[key];

        /// <summary>The key that the glob <paramref name="glob"/> (in document order) is.</summary>
        internal int GlobKey(int glob) => _globAt[glob];

        /// <summary>The globs' shapes, in document order, found as they were added.</summary>
        internal ReadOnlySpan<GlobShape> GlobShapes => _globShapes.AsSpan(0, GlobCount);

        /// <summary>The hash of the end a glob index files the glob <paramref name="glob"/> (in document order) under (<see cref="GlobShape.EndHash"/>).</summary>
        internal int GlobEndHash(int glob) => _globEndHashes[glob];

        /// <summary>Room for the next key's characters: write at most <paramref name="maxLength"/> there, then call <see cref="Add(int, T)"/>.</summary>
        public Span<char> Reserve(int maxLength)
        {
            if (_length + maxLength > _chars.Length)
            {
                Grow(ref _chars, _length, Math.Max(_length + maxLength, _chars.Length * 2));
            }

            return _chars.AsSpan(_length, maxLength);
        }

        /// <summary>Adds the key of <paramref name="length"/> characters written where <see cref="Reserve"/> said.</summary>
        public void Add(int length, T value)
        {
            // Each array on its own: the pool may give any of them more room than asked for.
            Ensure(ref _values, Count, Count + 1);
            Ensure(ref _isGlob, Count, Count + 1);
            Ensure(ref _starts, Count + 1, Count + 2);
            var key = _chars.AsSpan(_length, length);
            var first = key.IndexOfAny('*', '?');
            var isGlob = first >= 0;
            if (isGlob)
            {
                Ensure(ref _globAt, GlobCount, GlobCount + 1);
                Ensure(ref _globShapes, GlobCount, GlobCount + 1);
                Ensure(ref _globEndHashes, GlobCount, GlobCount + 1);
                var shape = GlobShape.Of(key, first);
                _globShapes[GlobCount] = shape;
                _globEndHashes[GlobCount] = GlobShape.EndHash(key, shape);
                _globAt[GlobCount++] = Count;
            }

            _values[Count] = value;
            _isGlob[Count] = isGlob;
            _length += length;
            _starts[++Count] = _length;
        }

        public void Add(string key, T value)
        {
            key.CopyTo(Reserve(key.Length));
            Add(key.Length, value);
        }

        public void Dispose()
        {
            ArrayPool<char>.Shared.Return(_chars);
            ArrayPool<int>.Shared.Return(_starts);
            // Only the values written hold references (the pool's array may be far longer than they).
            if (System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            {
                _values.AsSpan(0, Math.Min(Count, _values.Length)).Clear();
            }

            ArrayPool<T>.Shared.Return(_values);
            ArrayPool<bool>.Shared.Return(_isGlob);
            ArrayPool<int>.Shared.Return(_globAt);
            ArrayPool<GlobShape>.Shared.Return(_globShapes);
            ArrayPool<int>.Shared.Return(_globEndHashes);
            _chars = [];
            _starts = [];
            _values = [];
            _isGlob = [];
            _globAt = [];
            _globShapes = [];
            _globEndHashes = [];
        }

        private static void Ensure<TItem>(ref TItem[] array, int used, int needed)
        {
            if (needed > array.Length)
            {
                Grow(ref array, used, Math.Max(needed, array.Length * 2));
            }
        }

        private static void Grow<TItem>(ref TItem[] array, int used, int size)
        {
            var larger = ArrayPool<TItem>.Shared.Rent(size);
            array.AsSpan(0, used).CopyTo(larger);
            if (System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<TItem>())
            {
                array.AsSpan(0, used).Clear();
            }

            ArrayPool<TItem>.Shared.Return(array);
            array = larger;
        }
    }

    /// <summary>The largest count or length packed into a ranking's sort key (21 bits); larger globs are ranked by comparison.</summary>
    private const int PackLimit = (1 << 21) - 1;

    /// <summary>
    /// The globs' positions among <paramref name="globs"/> (document order), most specific first: fewest wildcards, then the
    /// longest pattern, then document order. A rented array; its first <c>globs.Length</c> items are the answer.
    /// </summary>
    private static int[] Rank(ReadOnlySpan<GlobShape> globs)
    {
        var order = ArrayPool<int>.Shared.Rent(globs.Length);
        if (TryRankByCounting(globs, order))
        {
            return order;
        }

        var packed = ArrayPool<ulong>.Shared.Rent(globs.Length);
        var fits = globs.Length <= PackLimit;
        for (var i = 0; i < globs.Length && fits; i++)
        {
            // Wildcards, then the length reversed (longer first), then the position: a sort of integers gives the order.
            var glob = globs[i];
            fits = glob.Wildcards <= PackLimit && glob.Length <= PackLimit;
            packed[i] = ((ulong)glob.Wildcards << 42) | ((ulong)(PackLimit - glob.Length) << 21) | (uint)i;
        }

        if (fits)
        {
            packed.AsSpan(0, globs.Length).Sort();
            for (var rank = 0; rank < globs.Length; rank++)
            {
                order[rank] = (int)(packed[rank] & PackLimit);
            }
        }
        else
        {
            // A key of more than two million characters: compare them instead.
            for (var i = 0; i < globs.Length; i++)
            {
                order[i] = i;
            }

            var array = globs.ToArray();
            order.AsSpan(0, globs.Length).Sort((a, b) => GlobShape.CompareSpecificity(array[a], array[b]) is var c and not 0 ? c : a.CompareTo(b));
        }

        ArrayPool<ulong>.Shared.Return(packed);
        return order;
    }

    /// <summary>
    /// Ranks the globs by a counting sort of their (wildcards, length) pairs, stable in document order: linear in the
    /// globs, where sorting them is not. False when there are more pairs than globs and a few thousand (a glob of
    /// thousands of characters): the sort then ranks them.
    /// </summary>
    private static bool TryRankByCounting(ReadOnlySpan<GlobShape> globs, Span<int> order)
    {
        int wildcards = 0, longest = 0;
        foreach (var glob in globs)
        {
            wildcards = Math.Max(wildcards, glob.Wildcards);
            longest = Math.Max(longest, glob.Length);
        }

        // A glob's bucket (see Bucket): fewer wildcards first, then longer first.
        var buckets = (long)(wildcards + 1) * (longest + 1);
        if (buckets > Math.Max(globs.Length, 4096))
        {
            return false;
        }

        var starts = ArrayPool<int>.Shared.Rent((int)buckets + 1);
        var next = starts.AsSpan(0, (int)buckets + 1);
        next.Clear();
        foreach (var glob in globs)
        {
            next[Bucket(glob, longest) + 1]++;
        }

        for (var bucket = 1; bucket < next.Length; bucket++)
        {
            next[bucket] += next[bucket - 1];
        }

        for (var i = 0; i < globs.Length; i++)
        {
            order[next[Bucket(globs[i], longest)]++] = i;
        }

        ArrayPool<int>.Shared.Return(starts);
        return true;

        static int Bucket(GlobShape glob, int longest) => (glob.Wildcards * (longest + 1)) + (longest - glob.Length);
    }

    /// <summary>Every key that matches <paramref name="name"/> in precedence order: the exact key, then globs from most to least specific (for explanations).</summary>
    public IEnumerable<KeyValuePair<string, T>> MatchAll(string name)
    {
        if (TryMatchExact(name, out var exact))
        {
            yield return new(name, exact);
        }

        for (var rank = 0; rank < _globs.Length; rank++)
        {
            if (_globs[rank].IsMatch(name))
            {
                yield return new(GlobKey(rank), _globValues[rank]);
            }
        }
    }

    /// <summary>Every key with its value: the exact names (in no particular order), then the globs from most to least specific.</summary>
    public IEnumerable<KeyValuePair<string, T>> Entries
    {
        get
        {
            for (var i = 0; i < _table.Length; i++)
            {
                if (_table[i].RowPlusOne is var rowPlusOne and not 0 && _rows[rowPlusOne - 1] is { Slot: >= 0 } row)
                {
                    yield return new(new string(Text(_chars, row.Start, row.Length)), _exactValues[row.Slot]);
                }
            }

            for (var rank = 0; rank < _globs.Length; rank++)
            {
                yield return new(GlobKey(rank), _globValues[rank]);
            }
        }
    }

    public bool TryMatch(string name, out T value, out string? matchedKey)
    {
        ref var slot = ref Find(name, out matchedKey);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref slot))
        {
            value = default!;
            return false;
        }

        value = slot;
        return true;
    }

    /// <summary>
    /// The value slot of the key that <paramref name="name"/> matches (the exact name, else the most specific glob), so
    /// that a value made on first use can be kept there; a null reference when nothing matches.
    /// </summary>
    public ref T Find(string name, out string? matchedKey)
    {
        if (ExactSlot(name) is var slot and >= 0)
        {
            matchedKey = name;
            return ref _exactValues[slot];
        }

        if (_index.TryMatch(name, out var rank))
        {
            matchedKey = GlobKey(rank);
            return ref _globValues[rank];
        }

        matchedKey = null;
        return ref System.Runtime.CompilerServices.Unsafe.NullRef<T>();
    }

    /// <summary>The glob of rank <paramref name="rank"/> as a string, made the first time it is asked for and kept.</summary>
    private string GlobKey(int rank)
    {
        // Two threads may both make the array or a key; they make equal ones, and either may win.
        var keys = Volatile.Read(ref _globKeys) ?? Interlocked.CompareExchange(ref _globKeys, new string?[_globs.Length], null) ?? _globKeys;
        return keys[rank] ??= _globs[rank].Pattern;
    }

    /// <summary>The value slot of the exact key <paramref name="name"/>; -1 when it is not one (or is a glob's text).</summary>
    private int ExactSlot(ReadOnlySpan<char> name)
    {
        var row = _table[SlotOf(_table, _tableMask, _rows, _chars, name, KeyHash.Of(name))].RowPlusOne;
        return row == 0 ? -1 : _rows[row - 1].Slot;
    }

    /// <summary>The table slot that holds the key <paramref name="text"/> (of hash <paramref name="hash"/>), else the empty slot where it would go.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SlotOf(ChunkedArray<TableSlot> table, int mask, ChunkedArray<KeyRow> rows, char[][] chars, ReadOnlySpan<char> text, int hash)
    {
        var slot = hash & mask;
        while (table[slot] is { RowPlusOne: not 0 } entry)
        {
            if (entry.Hash == hash && rows[entry.RowPlusOne - 1] is var row && Text(chars, row.Start, row.Length).SequenceEqual(text))
            {
                return slot;
            }

            slot = (slot + 1) & mask;
        }

        return slot;
    }

    private bool TryMatchExact(string name, out T value)
    {
        if (ExactSlot(name) is var slot and >= 0)
        {
            value = _exactValues[slot];
            return true;
        }

        value = default!;
        return false;
    }
}

/// <summary>
/// The hash a name matcher files its keys by: sixteen bytes a step in two lanes, multiplied and folded, from a seed drawn once per
/// process, so that the keys' places are not known in advance. A lookup never adds a key: a caller's names can only
/// choose which of the policy's own runs of slots they probe, never make one longer.
/// </summary>
internal static class KeyHash
{
    private const ulong Multiplier = 0x9E3779B97F4A7C15;
    private static readonly ulong Seed = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    public static int Of(ReadOnlySpan<char> text)
    {
        // Two lanes of eight bytes, each multiplied and folded on its own (so that the two chains overlap in the core);
        // a name of eight bytes or more ends with the last sixteen (or eight) bytes, read again where they overlap the
        // step before. Every byte is read, and the length is in the hash: two names of one length that differ anywhere
        // differ in what is mixed.
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(text);
        var length = bytes.Length;
        var a = Seed ^ ((ulong)length * Multiplier);
        var b = ~Seed;
        if (length > 16)
        {
            for (var at = 0; length - at > 16; at += 16)
            {
                a = Mix(a, Word(bytes, at));
                b = Mix(b, Word(bytes, at + 8));
            }

            a = Mix(a, Word(bytes, length - 16));
            b = Mix(b, Word(bytes, length - 8));
        }
        else if (length >= 8)
        {
            a = Mix(a, Word(bytes, 0));
            b = Mix(b, Word(bytes, length - 8));
        }
        else
        {
            // One to seven bytes (two or six: a name's bytes come in pairs) in two reads that may overlap.
            a = Mix(a, length switch
            {
                0 => 0UL,
                1 => bytes[0],
                < 4 => System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(bytes) | ((ulong)System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(bytes[^2..]) << 16),
                _ => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes) | ((ulong)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes[^4..]) << 32),
            });
        }

        var hash = (a ^ System.Numerics.BitOperations.RotateLeft(b, 32)) * Multiplier;
        hash ^= hash >> 32;
        return (int)hash;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Word(ReadOnlySpan<byte> bytes, int at) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes[at..]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong hash, ulong word)
    {
        hash = (hash ^ word) * Multiplier;
        return hash ^ (hash >> 29);
    }
}

/// <summary>
/// A tool-name glob: <c>*</c> any run of characters, <c>?</c> one character; everything else literal. A value kept in
/// arrays (no object per glob), with where its first and last wildcards are, found once.
/// </summary>
internal readonly struct GlobPattern
{
    public GlobPattern(string pattern)
        : this(pattern.ToCharArray(), 0, pattern.Length)
    {
    }

    /// <summary>The glob written at <paramref name="start"/> in <paramref name="source"/> (a name matcher's one array of key characters).</summary>
    public GlobPattern(char[] source, int start, int length)
        : this(source, start, GlobShape.Of(source.AsSpan(start, length)))
    {
    }

    /// <summary>The glob written at <paramref name="start"/> in <paramref name="source"/>, already measured.</summary>
    public GlobPattern(char[] source, int start, GlobShape shape)
    {
        _source = source;
        _start = start;
        Length = shape.Length;
        LiteralPrefix = shape.Prefix;
        LiteralSuffix = shape.Suffix;
    }

    private readonly char[] _source;
    private readonly int _start;

    /// <summary>The pattern's characters.</summary>
    public ReadOnlySpan<char> Text => new(_source, _start, Length);

    public int Length { get; }

    /// <summary>The pattern as a string, made now.</summary>
    public string Pattern => new(Text);

    /// <summary>How many literal characters come before the first wildcard.</summary>
    public int LiteralPrefix { get; }

    /// <summary>How many literal characters come after the last wildcard.</summary>
    public int LiteralSuffix { get; }

    public static bool IsGlob(string key) => IsGlob(key.AsSpan());

    public static bool IsGlob(ReadOnlySpan<char> key) => key.IndexOfAny('*', '?') >= 0;

    /// <summary>Iterative matching with backtracking to the last star: linear in practice, no regex.</summary>
    public bool IsMatch(ReadOnlySpan<char> t)
    {
        var p = Text;
        int pi = 0, ti = 0, star = -1, mark = 0;
        while (ti < t.Length)
        {
            if (pi < p.Length && (p[pi] == '?' || p[pi] == t[ti]))
            {
                pi++;
                ti++;
            }
            else if (pi < p.Length && p[pi] == '*')
            {
                star = pi++;
                mark = ti;
            }
            else if (star >= 0)
            {
                pi = star + 1;
                ti = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (pi < p.Length && p[pi] == '*')
        {
            pi++;
        }

        return pi == p.Length;
    }

    public override string ToString() => Pattern;
}

/// <summary>A glob's length, wildcard count, and literal characters before its first wildcard and after its last.</summary>
internal readonly record struct GlobShape(int Length, int Wildcards, int Prefix, int Suffix)
{
    /// <summary>Precedence between two globs: fewer wildcards first, then the longer pattern; 0 when neither is more specific.</summary>
    public static int CompareSpecificity(GlobShape a, GlobShape b) =>
        a.Wildcards != b.Wildcards ? a.Wildcards.CompareTo(b.Wildcards) : b.Length.CompareTo(a.Length);

    /// <summary>Which literal end a glob index files a glob under: its longer one (the prefix on a tie), none when it has neither.</summary>
    public static GlobEnd Filing(int prefix, int suffix) =>
        prefix == 0 && suffix == 0 ? GlobEnd.None : prefix >= suffix ? GlobEnd.Prefix : GlobEnd.Suffix;

    /// <summary>The hash (<see cref="KeyHash"/>) of the literal end that <paramref name="glob"/>, of this shape, is filed under; 0 when none.</summary>
    public static int EndHash(ReadOnlySpan<char> glob, GlobShape shape) => Filing(shape.Prefix, shape.Suffix) switch
    {
        GlobEnd.Prefix => KeyHash.Of(glob[..shape.Prefix]),
        GlobEnd.Suffix => KeyHash.Of(glob[^shape.Suffix..]),
        _ => 0,
    };

    public static GlobShape Of(ReadOnlySpan<char> glob) =>
        glob.IndexOfAny('*', '?') is var first and >= 0 ? Of(glob, first) : new(glob.Length, 0, glob.Length, glob.Length);

    /// <summary>The shape of <paramref name="glob"/>, whose first wildcard is at <paramref name="first"/> (already found).</summary>
    public static GlobShape Of(ReadOnlySpan<char> glob, int first)
    {
        // Most globs have one wildcard: the last is then the first, and nothing between them is counted.
        var last = glob.LastIndexOfAny('*', '?');
        var wildcards = last == first ? 1 : 2 + glob[(first + 1)..last].Count('*') + glob[(first + 1)..last].Count('?');
        return new(glob.Length, wildcards, first, glob.Length - 1 - last);
    }
}

/// <summary>The literal end a glob is filed under in a glob index.</summary>
internal enum GlobEnd
{
    None,
    Prefix,
    Suffix,
}
