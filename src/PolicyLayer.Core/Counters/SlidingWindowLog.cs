namespace PolicyLayer;

/// <summary>
/// The live units of one counter for one scope key: a ring of entry times, oldest first, each an
/// offset from <see cref="_base"/> in quanta of the counter's clock, rounded up.
/// </summary>
/// <remarks>
/// <para>
/// Every member is called under <c>lock (window)</c>; the window object is its own lock so that
/// locking allocates nothing. A unit admitted at time <c>t</c> is live during <c>[t, t + window)</c>.
/// A request is admitted when the live units plus its amount fit in <c>Max</c>, so every
/// half-open interval of length <c>window</c> holds at most <c>Max</c> units.
/// </para>
/// <para>
/// Times are only ever moved later (rounded up to the counter's quantum): a unit may be held up to a
/// quantum longer than exact, never shorter, so the store may under-admit by that much but never
/// over-admits. Entries with the same time merge when the counter keeps amounts, so a counter whose
/// Max exceeds <see cref="CounterTable.MaxEntries"/> (and whose quantum is a 1/1,022 of its window)
/// never holds more than that many entries.
/// </para>
/// <para>
/// A window is retired (<see cref="IsRetired"/>) only by the idle sweep, under its lock, and only
/// when it holds no live unit; it is removed from its table in the same critical section, so a
/// caller that locks a retired window looks it up again and finds a fresh one or creates it.
/// </para>
/// </remarks>
internal sealed class SlidingWindowLog
{
    private const int InitialCapacity = 4;

    private int[] _offsets;

    // Units of each entry; null while every entry holds exactly one unit (counters of calls).
    private long[]? _amounts;

    // Clock timestamp of offset 0.
    private long _base;

    private long _used;
    private int _head;
    private int _count;

    internal SlidingWindowLog(CounterTable table)
    {
        _offsets = new int[Math.Min(InitialCapacity, table.Capacity)];
    }

    /// <summary>Whether the idle sweep has retired this window; a retired window is never used again.</summary>
    internal bool IsRetired { get; set; }

    /// <summary>The live units, as of the last <see cref="Prune"/>.</summary>
    internal long Used => _used;

    /// <summary>The number of entries (for tests).</summary>
    internal int EntryCount => _count;

    /// <summary>Drops the entries whose units have left the window at <paramref name="now"/>.</summary>
    internal void Prune(long now, CounterTable table)
    {
        if (_count == 0)
        {
            return;
        }

        // An entry is live while base + offset * q + window > now.
        long limit = now - _base - table.WindowLength;
        long quantum = table.Quantum;
        int[] offsets = _offsets;
        while (_count > 0 && offsets[_head] * quantum <= limit)
        {
            _used -= _amounts is null ? 1 : _amounts[_head];
            _head = _head + 1 == offsets.Length ? 0 : _head + 1;
            _count--;
        }

        if (_count == 0)
        {
            _head = 0;
            _used = 0;
        }
    }

    /// <summary>Records <paramref name="amount"/> (positive, fitting) units at <paramref name="now"/>; returns the reservation id.</summary>
    internal long Add(long now, long amount, CounterTable table)
    {
        long quantum = table.Quantum;
        if (_count == 0)
        {
            _base = now;
        }

        long offset = CeilingDivide(now - _base, quantum);
        if (offset > int.MaxValue)
        {
            Rebase(quantum);
            offset = CeilingDivide(now - _base, quantum);
        }

        if (_count > 0)
        {
            int newest = Index(_count - 1);

            // A clock never goes back, but if one did, keep the ring sorted by moving the unit later.
            offset = Math.Max(offset, _offsets[newest]);
            // Units of the same time share an entry once the log keeps amounts (or must stay within MaxEntries).
            if (_offsets[newest] == offset && (_amounts is not null || table.Max > table.Capacity))
            {
                EnsureAmounts();
                _amounts![newest] += amount;
                _used += amount;
                return _base + (offset * quantum);
            }
        }

        if (amount != 1)
        {
            EnsureAmounts();
        }

        if (_count == _offsets.Length)
        {
            // The grid keeps a log within Capacity; growing past it (a clock that misbehaves) costs
            // memory, never a unit.
            Grow(_offsets.Length < table.Capacity ? Math.Min(_offsets.Length * 2, table.Capacity) : _offsets.Length + (_offsets.Length / 2));
        }

        int slot = Index(_count);
        _offsets[slot] = (int)offset;
        if (_amounts is not null)
        {
            _amounts[slot] = amount;
        }

        _count++;
        _used += amount;
        return _base + (offset * quantum);
    }

    /// <summary>
    /// How long, in clock units, until <paramref name="amount"/> more units fit; zero when they fit now,
    /// <see cref="long.MaxValue"/> when they never can. Call after <see cref="Prune"/>.
    /// </summary>
    internal long TimeUntilFits(long now, long amount, CounterTable table)
    {
        if (amount > table.Max)
        {
            return long.MaxValue;
        }

        long excess = _used + amount - table.Max;
        if (excess <= 0)
        {
            return 0;
        }

        long freed = 0;
        for (int i = 0; i < _count; i++)
        {
            int index = Index(i);
            freed += _amounts is null ? 1 : _amounts[index];
            if (freed >= excess)
            {
                return _base + (_offsets[index] * table.Quantum) + table.WindowLength - now;
            }
        }

        // Unreachable while _used is the sum of the entries and amount <= Max.
        throw new InvalidOperationException("Counter window is inconsistent.");
    }

    /// <summary>Gives back up to <paramref name="amount"/> units of the reservation <paramref name="reservationId"/>; returns the units given back.</summary>
    /// <remarks>
    /// The id is the reservation's stamp: its units are in the entries of that stamp, shared only with
    /// reservations of the same stamp, which leave the window at the same moment, so taking any of
    /// them back is the same. Units already pruned are gone; nothing else is taken in their place.
    /// </remarks>
    internal long Release(long reservationId, long amount, CounterTable table)
    {
        long quantum = table.Quantum;
        long released = 0;
        int i = 0;
        while (i < _count && released < amount)
        {
            int index = Index(i);
            long stamp = _base + (_offsets[index] * quantum);
            if (stamp < reservationId)
            {
                i++;
                continue;
            }

            if (stamp > reservationId)
            {
                break;
            }

            long entryUnits = _amounts is null ? 1 : _amounts[index];
            long take = Math.Min(entryUnits, amount - released);
            released += take;
            _used -= take;
            if (take == entryUnits)
            {
                RemoveAt(i);
            }
            else
            {
                _amounts![index] -= take;
                i++;
            }
        }

        return released;
    }

    private int Index(int position)
    {
        int index = _head + position;
        return index >= _offsets.Length ? index - _offsets.Length : index;
    }

    private void RemoveAt(int position)
    {
        // Shift the newer entries down by one; releases are rare, rings are short.
        for (int p = position; p < _count - 1; p++)
        {
            int to = Index(p);
            int from = Index(p + 1);
            _offsets[to] = _offsets[from];
            if (_amounts is not null)
            {
                _amounts[to] = _amounts[from];
            }
        }

        _count--;
        if (_count == 0)
        {
            _head = 0;
            _used = 0;
        }
    }

    private void Grow(int capacity)
    {
        var offsets = new int[capacity];
        long[]? amounts = _amounts is null ? null : new long[capacity];
        for (int i = 0; i < _count; i++)
        {
            int index = Index(i);
            offsets[i] = _offsets[index];
            if (amounts is not null)
            {
                amounts[i] = _amounts![index];
            }
        }

        _offsets = offsets;
        _amounts = amounts;
        _head = 0;
    }

    private void EnsureAmounts()
    {
        if (_amounts is null)
        {
            // Until now every entry held one unit.
            _amounts = new long[_offsets.Length];
            _amounts.AsSpan().Fill(1);
        }
    }

    private void Rebase(long quantum)
    {
        // Moves offset 0 to the oldest entry, by whole quanta, so the stamps do not change.
        int shift = _offsets[_head];
        for (int i = 0; i < _count; i++)
        {
            _offsets[Index(i)] -= shift;
        }

        _base += shift * quantum;
    }

    private static long CeilingDivide(long value, long divisor) => value <= 0 ? 0 : ((value - 1) / divisor) + 1;
}
