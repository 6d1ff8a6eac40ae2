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
/// Each reservation gets an id of its own: its stamp's grid index (modulo 2^40) and its ordinal among the reservations
/// of that stamp. The grid of a window never moves (its base moves by whole quanta only) and stamps never go below
/// the last one issued, so an id names one stamp and one reservation. A released id is remembered until its stamp
/// has left the window, so releasing it again gives nothing: release is one-shot, even where several reservations
/// share an entry.
/// </para>
/// <para>
/// A window is retired (<see cref="IsRetired"/>) only by the idle sweep, under its lock, and only
/// when it holds no live unit and its last stamp has left the window (so that a window made after it never issues
/// an id of the old one); it is removed from its table in the same critical section, so a
/// caller that locks a retired window looks it up again and finds a fresh one or creates it.
/// </para>
/// </remarks>
internal sealed class SlidingWindowLog
{
    private const int InitialCapacity = 4;

    // A reservation id: the stamp's grid index modulo 2^40, then 23 bits of ordinal (1-based) within the stamp.
    private const int OrdinalBits = 23;
    private const long OrdinalLimit = 1L << OrdinalBits;
    private const long GridMask = (1L << 40) - 1;

    private int[] _offsets;

    // Units of each entry; null while every entry holds exactly one unit (counters of calls).
    private long[]? _amounts;

    // Clock timestamp of offset 0.
    private long _base;

    private long _used;

    // The stamp of the last reservation and its ordinal there; stamps issued never go below it.
    private long _lastStamp;
    private int _lastOrdinal;

    // Ids given back while their stamp may still hold units; null while none.
    private ReleasedIds? _released;

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
        ForgetReleased(now);
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

    /// <summary>Whether the window may be retired at <paramref name="now"/>: it holds nothing, and its last stamp has left it.</summary>
    internal bool IsIdle(long now, CounterTable table) => _count == 0 && _lastStamp <= now - table.WindowLength;

    private void ForgetReleased(long now)
    {
        if (_released is not null && _released.Forget(now))
        {
            _released = null;
        }
    }

    /// <summary>Records <paramref name="amount"/> (positive, fitting) units at <paramref name="now"/>; returns the reservation id.</summary>
    internal long Add(long now, long amount, CounterTable table)
    {
        long quantum = table.Quantum;
        if (_count == 0)
        {
            // A fresh window starts its grid at now; a window that emptied keeps its grid (whole quanta from its last stamp).
            _base = _lastStamp == 0 ? now : _lastStamp + (CeilingDivide(now - _lastStamp, quantum) * quantum);
        }

        // Never below the last stamp issued (a clock that went back, or a later entry that was given back): the unit
        // is held later, never earlier, and the stamp's ordinals stay unique.
        long stamp = Math.Max(_base + (CeilingDivide(now - _base, quantum) * quantum), _lastStamp);
        int ordinal = stamp == _lastStamp ? _lastOrdinal + 1 : 1;
        if (ordinal == OrdinalLimit)
        {
            // Millions of reservations in one quantum (a frozen clock): the next stamp.
            stamp += quantum;
            ordinal = 1;
        }

        _lastStamp = stamp;
        _lastOrdinal = ordinal;
        long id = (((stamp / quantum) & GridMask) << OrdinalBits) | (long)ordinal;
        long offset = (stamp - _base) / quantum;
        if (offset > int.MaxValue)
        {
            Rebase(quantum);
            offset = (stamp - _base) / quantum;
        }

        if (_count > 0)
        {
            int newest = Index(_count - 1);

            // Units of the same time share an entry once the log keeps amounts (or must stay within MaxEntries).
            if (_offsets[newest] == offset && (_amounts is not null || table.Max > table.Capacity))
            {
                EnsureAmounts();
                _amounts![newest] += amount;
                _used += amount;
                return id;
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
        return id;
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

    /// <summary>
    /// Gives back up to <paramref name="amount"/> units of the reservation <paramref name="reservationId"/>, once: the
    /// same id given back again gives nothing. Returns the units given back.
    /// </summary>
    /// <remarks>
    /// The reservation's units are in the entries of its stamp, shared only with reservations of the same stamp, which
    /// leave the window at the same moment, so taking any of them back is the same. Units already pruned are gone;
    /// nothing else is taken in their place.
    /// </remarks>
    internal long Release(long reservationId, long amount, CounterTable table)
    {
        if (_count == 0 || reservationId <= 0 || _released?.Contains(reservationId) == true)
        {
            return 0;
        }

        long grid = reservationId >> OrdinalBits;
        long quantum = table.Quantum;
        long released = 0;
        long releasedStamp = 0;
        int i = 0;
        while (i < _count && released < amount)
        {
            int index = Index(i);
            long stamp = _base + (_offsets[index] * quantum);
            if (((stamp / quantum) & GridMask) != grid)
            {
                if (released > 0)
                {
                    break; // Past the stamp's entries.
                }

                i++;
                continue;
            }

            if (stamp == _lastStamp && (reservationId & (OrdinalLimit - 1)) > _lastOrdinal)
            {
                break; // Never issued.
            }

            long entryUnits = _amounts is null ? 1 : _amounts[index];
            long take = Math.Min(entryUnits, amount - released);
            released += take;
            releasedStamp = stamp;
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

        if (released > 0)
        {
            // Until the stamp leaves the window: then no entry holds it, and no later stamp equals it.
            (_released ??= new ReleasedIds()).Add(reservationId, releasedStamp + table.WindowLength);
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

    /// <summary>The ids given back, each until the moment its stamp leaves the window.</summary>
    private sealed class ReleasedIds
    {
        private readonly HashSet<long> _ids = [];
        private readonly Queue<(long Id, long ForgetAt)> _order = new();

        public bool Contains(long id) => _ids.Contains(id);

        public void Add(long id, long forgetAt)
        {
            _ids.Add(id);
            _order.Enqueue((id, forgetAt));
        }

        /// <summary>Forgets the ids whose stamps have left the window; true when none is left.</summary>
        public bool Forget(long now)
        {
            // Roughly in order; one given back out of order only lingers until the ones before it go.
            while (_order.TryPeek(out var next) && next.ForgetAt <= now)
            {
                _order.Dequeue();
                _ids.Remove(next.Id);
            }

            return _order.Count == 0;
        }
    }
}
