using System.Collections;

namespace PolicyLayer.Policies;

/// <summary>
/// A policy's counters, numbered in the order they are defined: each kept as plain data (its name's characters in
/// chunks, its budget as numbers), and made a <see cref="CounterDefinition"/> the first time it is asked for, once. A
/// load of ten thousand counters then makes no object per counter; the rules built on first match and
/// <see cref="PolicyDocument.Counters"/> share each definition.
/// </summary>
/// <remarks>
/// Written by one read at a time while the policy loads; after that only read, from any thread (a definition is made
/// with <see cref="Interlocked.CompareExchange{T}(ref T, T, T)"/>, and the first one made is the one kept).
/// Entries, definitions and names are kept in arrays of at most 64 KiB, below the large-object threshold (a name longer
/// than 32 Ki characters has an array of its own); the index is a <see cref="ChunkedArray{T}"/>.
/// </remarks>
internal sealed class PolicyCounters : IReadOnlyList<CounterDefinition>
{
    // Entries and definitions in chunks of 1,024 (40 KiB and 8 KiB); names in chunks of 32 Ki characters (a longer
    // name has a chunk of its own).
    private const int EntryShift = 10;
    private const int EntryChunk = 1 << EntryShift;
    private const int NameChunk = 32 * 1024;

    private readonly List<Entry[]> _entries = [];
    private readonly List<char[]> _names = [];
    private int _nameUsed;
    private readonly int _expected;
    private readonly List<string> _incrementFrom = [];
    private CounterDefinition?[]?[] _made = [];

    // Open addressing, at most half full: a slot holds a name's hash and its counter's ordinal plus one (0: empty).
    private ChunkedArray<Slot> _slots;

    // The most counters sized for up front (an index of 512 KiB): the estimate counts words in the text, which a document
    // can repeat without defining anything, and past this the index grows as counters are defined.
    private const int MaxExpected = 32 * 1024;

    /// <param name="expected">About how many counters the policy defines (the table grows past it).</param>
    public PolicyCounters(int expected = 0)
    {
        _expected = Math.Clamp(expected, 0, MaxExpected);
        var slots = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, _expected * 2));
        _slots = new ChunkedArray<Slot>(slots);
    }

    public int Count { get; private set; }

    /// <summary>The index's size in slots, for the tests.</summary>
    internal int SlotCount => _slots.Length;

    /// <summary>How many definitions have been made so far, for the tests.</summary>
    internal int MadeCount => _made.Sum(chunk => chunk?.Count(made => made is not null) ?? 0);

    /// <summary>The counter of <paramref name="ordinal"/>, made on first use.</summary>
    public CounterDefinition this[int ordinal]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)ordinal, (uint)Count, nameof(ordinal));
            var chunk = _made[ordinal >> EntryShift];
            if (chunk is null)
            {
                Interlocked.CompareExchange(ref _made[ordinal >> EntryShift], new CounterDefinition?[_entries[ordinal >> EntryShift].Length], null);
                chunk = _made[ordinal >> EntryShift]!;
            }

            ref var made = ref chunk[ordinal & (EntryChunk - 1)];
            if (made is null)
            {
                ref readonly var entry = ref EntryAt(ordinal);
                var definition = new CounterDefinition(new string(NameOf(entry)), entry.Max, TimeSpan.FromTicks(entry.WindowTicks), entry.Scope)
                {
                    Ordinal = ordinal,
                    IncrementFrom = entry.IncrementFrom < 0 ? null : _incrementFrom[entry.IncrementFrom],
                };
                Interlocked.CompareExchange(ref made, definition, null);
            }

            return made!;
        }
    }

    /// <summary>The ordinal of the counter named <paramref name="name"/>, or -1.</summary>
    public int IndexOf(ReadOnlySpan<char> name) => Find(name, KeyHash.Of(name), out _);

    /// <summary>Whether the counter of <paramref name="ordinal"/> has this budget.</summary>
    public bool HasBudget(int ordinal, long max, TimeSpan window, CounterScope scope)
    {
        ref readonly var entry = ref EntryAt(ordinal);
        return entry.Max == max && entry.WindowTicks == window.Ticks && entry.Scope == scope;
    }

    /// <summary>The budget of the counter of <paramref name="ordinal"/>, for messages.</summary>
    public (long Max, TimeSpan Window, CounterScope Scope) BudgetOf(int ordinal)
    {
        ref readonly var entry = ref EntryAt(ordinal);
        return (entry.Max, TimeSpan.FromTicks(entry.WindowTicks), entry.Scope);
    }

    /// <summary>
    /// The ordinal of the counter named <paramref name="name"/>: the one already defined (<paramref name="added"/> false;
    /// its budget may differ), or a new one of this budget.
    /// </summary>
    public int GetOrAdd(ReadOnlySpan<char> name, long max, TimeSpan window, CounterScope scope, string? incrementFrom, out bool added)
    {
        var hash = KeyHash.Of(name);
        var known = Find(name, hash, out var i);
        if (known >= 0)
        {
            added = false;
            return known;
        }

        var ordinal = Count;
        var (chunk, at) = (ordinal >> EntryShift, ordinal & (EntryChunk - 1));
        if (chunk == _entries.Count)
        {
            // A chunk sized for the counters expected, grown up to its full size: a policy of a few counters keeps a few.
            _entries.Add(new Entry[Math.Clamp(_expected - ordinal, 16, EntryChunk)]);
            Array.Resize(ref _made, _entries.Count);
        }
        else if (at == _entries[chunk].Length)
        {
            var entries = _entries[chunk];
            Array.Resize(ref entries, Math.Min(EntryChunk, entries.Length * 2));
            _entries[chunk] = entries;
            if (_made[chunk] is not null)
            {
                Array.Resize(ref _made[chunk], entries.Length);
            }
        }

        var (nameChunk, nameOffset) = PlaceName(name);
        var from = -1;
        if (incrementFrom is not null)
        {
            from = _incrementFrom.Count;
            _incrementFrom.Add(incrementFrom);
        }

        _entries[chunk][at] = new Entry(nameChunk, nameOffset, name.Length, from, max, window.Ticks, scope);
        _slots[i] = new Slot(hash, ordinal + 1);
        Count = ordinal + 1;
        if (Count * 2 > _slots.Length)
        {
            Grow();
        }

        added = true;
        return ordinal;
    }

    public IEnumerator<CounterDefinition> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The ordinal of <paramref name="name"/> (of <paramref name="hash"/>), or -1 and the empty slot where it would go.</summary>
    private int Find(ReadOnlySpan<char> name, int hash, out int slot)
    {
        var mask = _slots.Length - 1;
        for (slot = hash & mask; ; slot = (slot + 1) & mask)
        {
            var found = _slots[slot];
            if (found.OrdinalPlusOne == 0)
            {
                return -1;
            }

            if (found.Hash == hash && NameOf(EntryAt(found.OrdinalPlusOne - 1)).SequenceEqual(name))
            {
                return found.OrdinalPlusOne - 1;
            }
        }
    }

    private ref readonly Entry EntryAt(int ordinal) => ref _entries[ordinal >> EntryShift][ordinal & (EntryChunk - 1)];

    private ReadOnlySpan<char> NameOf(in Entry entry) => _names[entry.NameChunk].AsSpan(entry.NameOffset, entry.NameLength);

    private (int Chunk, int Offset) PlaceName(ReadOnlySpan<char> name)
    {
        if (_names.Count == 0 || _nameUsed + name.Length > _names[^1].Length)
        {
            // Chunks double from a size for the expected counters up to 32 Ki characters; a longer name has one of its own.
            var size = _names.Count == 0 ? Math.Max(64, _expected * 8) : _names[^1].Length * 2;
            _names.Add(new char[Math.Max(name.Length, Math.Min(NameChunk, size))]);
            _nameUsed = 0;
        }

        var offset = _nameUsed;
        name.CopyTo(_names[^1].AsSpan(offset));
        _nameUsed += name.Length;
        return (_names.Count - 1, offset);
    }

    private void Grow()
    {
        var slots = new ChunkedArray<Slot>(_slots.Length * 2);
        var mask = slots.Length - 1;
        for (var at = 0; at < _slots.Length; at++)
        {
            var slot = _slots[at];
            if (slot.OrdinalPlusOne != 0)
            {
                var i = slot.Hash & mask;
                while (slots[i].OrdinalPlusOne != 0)
                {
                    i = (i + 1) & mask;
                }

                slots[i] = slot;
            }
        }

        _slots = slots;
    }

    private readonly record struct Slot(int Hash, int OrdinalPlusOne);

    private readonly record struct Entry(int NameChunk, int NameOffset, int NameLength, int IncrementFrom, long Max, long WindowTicks, CounterScope Scope);
}
