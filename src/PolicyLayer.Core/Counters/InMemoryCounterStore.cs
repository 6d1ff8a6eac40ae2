using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace PolicyLayer;

/// <summary>Options of an <see cref="InMemoryCounterStore"/>.</summary>
public sealed class InMemoryCounterStoreOptions
{
    /// <summary>The clock windows are computed from.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// How often the store forgets the counters that hold no live units (scopes that went quiet).
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns the sweep off. Windows are never decided by this
    /// interval: it only bounds how long an empty counter's memory lingers.
    /// </summary>
    /// <value>The default value is one minute.</value>
    public TimeSpan IdleSweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The most counters (one per counter definition and scope key) the store holds at once, or null for no limit.
    /// Past it, a reservation that would start a counter for a new scope throws <see cref="CounterStoreFullException"/>,
    /// which the evaluator turns into a refusal (fail closed, even under fail-open) and counts in its counter-store
    /// errors metric; counters already live keep working, and none is ever evicted to make room.
    /// </summary>
    /// <value>The default value is null: memory follows the active scopes, however many.</value>
    public int? MaxLiveCounters { get; set; }
}

/// <summary>
/// Counters in this process's memory: exact sliding windows, all-or-none reservations across counters,
/// and counters of scopes that went quiet forgotten by themselves.
/// </summary>
/// <remarks>
/// <para>
/// Each counter and scope key keeps the time of each reservation it holds, so no interval of a
/// counter's window ever holds more than <see cref="CounterDefinition.Max"/> units, under any
/// interleaving of threads. A unit's time is rounded up to a quantum: about 1/2^30 of its window
/// (one clock tick for windows up to about 107 seconds with a 100 ns clock) when Max is at most
/// 1,024, else about 1/1,022 of its window, which bounds the log of a spend cap to 1,024 entries.
/// Rounding up only holds units longer, so the store under-admits by at most one quantum per unit
/// and never over-admits.
/// </para>
/// <para>
/// A timer on <see cref="InMemoryCounterStoreOptions.TimeProvider"/> forgets every counter that
/// holds no live unit, every <see cref="InMemoryCounterStoreOptions.IdleSweepInterval"/>, so memory
/// follows the active scopes. A pass runs in steps of a few thousand counters, 10 ms apart, so that no step holds a
/// thread for long however many counters there are; <see cref="InMemoryCounterStoreOptions.MaxLiveCounters"/> bounds
/// how many there can be. Scope keys longer than 128 characters are kept as a hash. Dispose the store to stop the timer.
/// </para>
/// </remarks>
public sealed class InMemoryCounterStore : CounterStore, IDisposable
{
    private const int StackWindows = 8;

    private readonly TimeProvider _time;
    private readonly long _frequency;
    private readonly ConcurrentDictionary<CounterDefinition, CounterTable> _tables = new();
    private readonly Lock _sweepLock = new();
    private ITimer? _sweepTimer;
    private readonly LiveCounterBudget _live;
    private readonly TimeSpan _sweepInterval;
    private IEnumerator<(CounterTable Table, KeyValuePair<string, SlidingWindowLog> Window)>? _sweepCursor;
    private int _nextTableId;
    private int _sweeping;

    /// <summary>How many counters one step of the sweep looks at; a pass over millions runs as many short steps.</summary>
    internal const int SweepChunk = 4096;

    /// <summary>The pause between two steps of one pass, so that the sweep never holds a thread for long.</summary>
    internal static readonly TimeSpan SweepChunkPause = TimeSpan.FromMilliseconds(10);
    private volatile bool _disposed;

    /// <summary>Creates a store.</summary>
    /// <param name="options">The store's options; <see langword="null"/> for the defaults.</param>
    public InMemoryCounterStore(InMemoryCounterStoreOptions? options = null)
    {
        options ??= new InMemoryCounterStoreOptions();
        ArgumentNullException.ThrowIfNull(options.TimeProvider, "options.TimeProvider");
        TimeSpan sweep = options.IdleSweepInterval;
        if (sweep != Timeout.InfiniteTimeSpan && sweep <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), sweep, "IdleSweepInterval must be positive or Timeout.InfiniteTimeSpan.");
        }

        if (options.MaxLiveCounters is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxLiveCounters, "MaxLiveCounters must be positive, or null for no limit.");
        }

        _time = options.TimeProvider;
        _frequency = _time.TimestampFrequency;
        _live = new LiveCounterBudget(options.MaxLiveCounters);
        _sweepInterval = sweep;
    }

    /// <summary>
    /// Starts the idle sweep's timer, with the first counter: a store that never counts (a policy without limits) makes
    /// none, and creating the process's first timer starts the runtime's timer thread, milliseconds on the way to a
    /// native proxy's first answer.
    /// </summary>
    private void StartSweep()
    {
        if (_sweepInterval == Timeout.InfiniteTimeSpan || Volatile.Read(ref _sweepTimer) is not null)
        {
            return;
        }

        lock (_sweepLock)
        {
            if (_sweepTimer is not null || _disposed)
            {
                return;
            }

            // The timer holds the store only weakly, so a store that is never disposed can still be collected.
            var state = new SweepState(new WeakReference<InMemoryCounterStore>(this));
            var timer = _time.CreateTimer(static s => SweepState.OnTick(s!), state, _sweepInterval, _sweepInterval);
            state.Timer = timer;
            Volatile.Write(ref _sweepTimer, timer);
        }
    }

    /// <summary>The number of counter windows held in memory (for tests and diagnostics).</summary>
    internal int WindowCount
    {
        get
        {
            int count = 0;
            foreach (KeyValuePair<CounterDefinition, CounterTable> table in _tables)
            {
                count += table.Value.Windows.Count;
            }

            return count;
        }
    }

    /// <summary>The live window of a counter and scope key, if any (for tests).</summary>
    internal SlidingWindowLog? FindWindow(CounterDefinition counter, string scopeKey) =>
        _tables.TryGetValue(counter, out CounterTable? table) && table.TryGetWindow(scopeKey, out SlidingWindowLog? window) ? window : null;

    /// <inheritdoc />
    public override ValueTask<CounterReservationResult> TryReserveAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (budgets.Length < requests.Length)
        {
            throw new ArgumentException("budgets must be at least as long as requests.", nameof(budgets));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<CounterReservationResult>(cancellationToken);
        }

        ReadOnlySpan<CounterRequest> span = requests.Span;
        Span<CounterBudget> output = budgets.Span;
        return span.Length switch
        {
            0 => new ValueTask<CounterReservationResult>(CounterReservationResult.Acquired),
            1 => new ValueTask<CounterReservationResult>(ReserveOne(in span[0], ref output[0])),
            _ => new ValueTask<CounterReservationResult>(ReserveMany(span, output)),
        };
    }

    /// <inheritdoc />
    public override ValueTask ReleaseAsync(ReadOnlyMemory<CounterBudget> reserved, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        foreach (ref readonly CounterBudget budget in reserved.Span)
        {
            if (budget.Reserved <= 0 || budget.Counter is null || budget.ScopeKey is null
                || !_tables.TryGetValue(budget.Counter, out CounterTable? table)
                || !table.TryGetWindow(budget.ScopeKey, out SlidingWindowLog? window))
            {
                // Nothing held, or the counter was forgotten: it held no live unit, so neither did this reservation.
                continue;
            }

            lock (window)
            {
                if (window.IsRetired)
                {
                    continue;
                }

                long now = _time.GetTimestamp();
                window.Prune(now, table);
                window.Release(budget.ReservationId, budget.Reserved, table);
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override ValueTask GetBudgetsAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (budgets.Length < requests.Length)
        {
            throw new ArgumentException("budgets must be at least as long as requests.", nameof(budgets));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        ReadOnlySpan<CounterRequest> span = requests.Span;
        Span<CounterBudget> output = budgets.Span;
        for (int i = 0; i < span.Length; i++)
        {
            ref readonly CounterRequest request = ref span[i];
            CheckRequest(in request);
            CounterTable table = GetTable(request.Counter);
            if (!table.TryGetWindow(request.ScopeKey, out SlidingWindowLog? window))
            {
                output[i] = EmptyBudget(in request, table);
                continue;
            }

            lock (window)
            {
                // A retired window held nothing, like an absent one.
                if (window.IsRetired)
                {
                    output[i] = EmptyBudget(in request, table);
                    continue;
                }

                long now = _time.GetTimestamp();
                window.Prune(now, table);
                output[i] = RefusedBudget(in request, window, table, now);
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Stops the idle sweep.</summary>
    public void Dispose()
    {
        _disposed = true;
        lock (_sweepLock)
        {
            _sweepTimer?.Dispose();
        }
    }

    /// <summary>Forgets every window that holds no live unit, in one go (tests; the timer runs <see cref="SweepStep"/>).</summary>
    internal void SweepIdleCounters()
    {
        while (!SweepStep(int.MaxValue))
        {
        }
    }

    /// <summary>
    /// Looks at up to <paramref name="chunk"/> windows from where the last step stopped, and forgets those that hold
    /// no live unit; returns true when the pass is finished (or another thread is sweeping).
    /// </summary>
    internal bool SweepStep(int chunk)
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return true;
        }

        try
        {
            _sweepCursor ??= AllWindows().GetEnumerator();
            for (int seen = 0; seen < chunk; seen++)
            {
                if (!_sweepCursor.MoveNext())
                {
                    _sweepCursor.Dispose();
                    _sweepCursor = null;
                    return true;
                }

                (CounterTable table, KeyValuePair<string, SlidingWindowLog> pair) = _sweepCursor.Current;
                TryRetire(table, pair);
            }

            return false;
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <summary>One tick of the timer: a step of the pass, and the next tick soon if the pass is not finished.</summary>
    private void SweepTick()
    {
        bool finished = SweepStep(SweepChunk);
        _sweepTimer?.Change(finished ? _sweepInterval : SweepChunkPause, _sweepInterval);
    }

    // The dictionaries' enumerators see a moving snapshot: windows added during a pass may be seen in this one or the next.
    private IEnumerable<(CounterTable Table, KeyValuePair<string, SlidingWindowLog> Window)> AllWindows()
    {
        foreach (KeyValuePair<CounterDefinition, CounterTable> entry in _tables)
        {
            foreach (KeyValuePair<string, SlidingWindowLog> pair in entry.Value.Windows)
            {
                yield return (entry.Value, pair);
            }
        }
    }

    private void TryRetire(CounterTable table, KeyValuePair<string, SlidingWindowLog> pair)
    {
        SlidingWindowLog window = pair.Value;

        // A window someone holds is in use; the next pass will see it.
        if (!Monitor.TryEnter(window))
        {
            return;
        }

        try
        {
            if (window.IsRetired)
            {
                return;
            }

            long now = _time.GetTimestamp();
            window.Prune(now, table);
            if (window.IsIdle(now, table))
            {
                // Retire and unlink in one critical section: whoever locks it next sees it retired
                // and looks the key up again, so no unit can land in a window nobody will find.
                window.IsRetired = true;
                table.Remove(pair);
            }
        }
        finally
        {
            Monitor.Exit(window);
        }
    }

    private static void CheckRequest(in CounterRequest request)
    {
        // default(CounterRequest) skips the constructor's checks.
        if (request.Counter is null || request.ScopeKey is null)
        {
            throw new ArgumentException("A counter request has no counter or scope key (default(CounterRequest)?).", nameof(request));
        }
    }

    private static CounterBudget EmptyBudget(in CounterRequest request, CounterTable table) =>
        new(request.Counter, request.ScopeKey, 0, table.Max, request.Amount > table.Max ? TimeSpan.MaxValue : TimeSpan.Zero, 0);

    private CounterBudget RefusedBudget(in CounterRequest request, SlidingWindowLog window, CounterTable table, long now) =>
        new(request.Counter, request.ScopeKey, 0, table.Max - window.Used,
            TimeConversions.FromTimestampUnits(window.TimeUntilFits(now, request.Amount, table), _frequency), 0);

    private CounterTable GetTable(CounterDefinition definition)
    {
        if (_tables.TryGetValue(definition, out CounterTable? table))
        {
            return table;
        }

        table = _tables.GetOrAdd(definition, static (d, store) => new CounterTable(d, Interlocked.Increment(ref store._nextTableId), store._frequency, store._live), this);
        StartSweep();
        return table;
    }

    /// <summary>Reserves in one counter, synchronously (the evaluator's one-counter path calls it directly).</summary>
    internal CounterReservationResult ReserveOne(in CounterRequest request, ref CounterBudget budget)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckRequest(in request);
        CounterTable table = GetTable(request.Counter);
        long amount = request.Amount;
        while (true)
        {
            SlidingWindowLog? window;
            if (amount > 0 && amount <= table.Max)
            {
                window = table.GetOrCreate(request.ScopeKey);
            }
            else if (!table.TryGetWindow(request.ScopeKey, out window))
            {
                // Nothing to record and nothing recorded: an empty counter answers.
                budget = EmptyBudget(in request, table);
                return amount > table.Max ? CounterReservationResult.Blocked(0, TimeSpan.MaxValue) : CounterReservationResult.Acquired;
            }

            lock (window)
            {
                if (window.IsRetired)
                {
                    continue;
                }

                long now = _time.GetTimestamp();
                window.Prune(now, table);
                if (amount <= table.Max - window.Used)
                {
                    long id = amount == 0 ? 0 : window.Add(now, amount, table);
                    budget = new CounterBudget(request.Counter, request.ScopeKey, amount, table.Max - window.Used, TimeSpan.Zero, id);
                    return CounterReservationResult.Acquired;
                }

                budget = RefusedBudget(in request, window, table, now);
                return CounterReservationResult.Blocked(0, budget.RetryAfter);
            }
        }
    }

    private CounterReservationResult ReserveMany(ReadOnlySpan<CounterRequest> requests, Span<CounterBudget> budgets)
    {
        int n = requests.Length;
        CounterTable[]? rentedTables = null;
        SlidingWindowLog?[]? rentedWindows = null;
        int[]? rentedOrder = null;
        TableBuffer tableBuffer = default;
        WindowBuffer windowBuffer = default;
        scoped Span<CounterTable> tables;
        scoped Span<SlidingWindowLog?> windows;
        scoped Span<int> order;
        if (n <= StackWindows)
        {
            tables = ((Span<CounterTable>)tableBuffer)[..n];
            windows = ((Span<SlidingWindowLog?>)windowBuffer)[..n];
            order = stackalloc int[StackWindows];
            order = order[..n];
        }
        else
        {
            rentedTables = ArrayPool<CounterTable>.Shared.Rent(n);
            rentedWindows = ArrayPool<SlidingWindowLog?>.Shared.Rent(n);
            rentedOrder = ArrayPool<int>.Shared.Rent(n);
            tables = rentedTables.AsSpan(0, n);
            windows = rentedWindows.AsSpan(0, n);
            order = rentedOrder.AsSpan(0, n);
        }

        try
        {
            for (int i = 0; i < n; i++)
            {
                CheckRequest(in requests[i]);
                tables[i] = GetTable(requests[i].Counter);
                order[i] = i;
            }

            SortForLocking(requests, tables, order);
            while (true)
            {
                if (TryReserveLocked(requests, budgets, tables, windows, order, out CounterReservationResult result))
                {
                    return result;
                }
            }
        }
        finally
        {
            if (rentedTables is not null)
            {
                ArrayPool<CounterTable>.Shared.Return(rentedTables, clearArray: true);
                ArrayPool<SlidingWindowLog?>.Shared.Return(rentedWindows!, clearArray: true);
                ArrayPool<int>.Shared.Return(rentedOrder!);
            }
        }
    }

    // Locks every window in a single global order, decides for all, then unlocks; returns false when a
    // window was retired between lookup and lock, so the caller looks the windows up again.
    private bool TryReserveLocked(
        ReadOnlySpan<CounterRequest> requests,
        Span<CounterBudget> budgets,
        Span<CounterTable> tables,
        Span<SlidingWindowLog?> windows,
        Span<int> order,
        out CounterReservationResult result)
    {
        int n = requests.Length;
        for (int i = 0; i < n; i++)
        {
            long amount = requests[i].Amount;
            windows[i] = amount > 0 && amount <= tables[i].Max
                ? tables[i].GetOrCreate(requests[i].ScopeKey)
                : (tables[i].TryGetWindow(requests[i].ScopeKey, out SlidingWindowLog? existing) ? existing : null);
        }

        int locked = 0;
        try
        {
            for (; locked < n; locked++)
            {
                SlidingWindowLog? window = windows[order[locked]];
                if (window is null)
                {
                    continue;
                }

                Monitor.Enter(window);
                if (window.IsRetired)
                {
                    // Count this lock as taken so that finally releases it.
                    locked++;
                    result = default;
                    return false;
                }
            }

            long now = _time.GetTimestamp();
            bool fits = true;
            for (int i = 0; i < n; i++)
            {
                SlidingWindowLog? window = windows[i];
                if (window is null)
                {
                    fits &= requests[i].Amount <= tables[i].Max;
                    continue;
                }

                window.Prune(now, tables[i]);
                fits &= requests[i].Amount <= tables[i].Max - window.Used;
            }

            if (fits)
            {
                for (int i = 0; i < n; i++)
                {
                    ref readonly CounterRequest request = ref requests[i];
                    SlidingWindowLog? window = windows[i];
                    long id = window is null || request.Amount == 0 ? 0 : window.Add(now, request.Amount, tables[i]);
                    long remaining = tables[i].Max - (window?.Used ?? 0);
                    budgets[i] = new CounterBudget(request.Counter, request.ScopeKey, request.Amount, remaining, TimeSpan.Zero, id);
                }

                result = CounterReservationResult.Acquired;
                return true;
            }

            // Refused: nothing taken. Report the counter that frees up last, so that retrying after
            // its RetryAfter finds every counter with room unless others spend it first.
            int blocked = -1;
            TimeSpan longest = TimeSpan.Zero;
            for (int i = 0; i < n; i++)
            {
                SlidingWindowLog? window = windows[i];
                budgets[i] = window is null ? EmptyBudget(in requests[i], tables[i]) : RefusedBudget(in requests[i], window, tables[i], now);
                if (budgets[i].RetryAfter > longest || (blocked < 0 && budgets[i].RetryAfter > TimeSpan.Zero))
                {
                    blocked = i;
                    longest = budgets[i].RetryAfter;
                }
            }

            result = CounterReservationResult.Blocked(blocked, longest);
            return true;
        }
        finally
        {
            for (int k = locked - 1; k >= 0; k--)
            {
                SlidingWindowLog? window = windows[order[k]];
                if (window is not null)
                {
                    Monitor.Exit(window);
                }
            }
        }
    }

    private static void SortForLocking(ReadOnlySpan<CounterRequest> requests, Span<CounterTable> tables, Span<int> order)
    {
        // Insertion sort: reservations name a handful of counters. The order (table id, then scope key)
        // is the same for every thread, so two reservations never wait on each other's locks in a cycle.
        for (int i = 1; i < order.Length; i++)
        {
            int current = order[i];
            int j = i - 1;
            while (j >= 0 && Compare(requests, tables, order[j], current) > 0)
            {
                order[j + 1] = order[j];
                j--;
            }

            order[j + 1] = current;
        }

        for (int i = 1; i < order.Length; i++)
        {
            if (Compare(requests, tables, order[i - 1], order[i]) == 0)
            {
                CounterRequest duplicate = requests[order[i]];
                throw new ArgumentException(
                    $"Counter '{duplicate.Counter.Name}' with scope key '{duplicate.ScopeKey}' appears twice in one reservation; add the amounts into one request.",
                    nameof(requests));
            }
        }
    }

    private static int Compare(ReadOnlySpan<CounterRequest> requests, Span<CounterTable> tables, int a, int b)
    {
        int byTable = tables[a].Id.CompareTo(tables[b].Id);
        return byTable != 0 ? byTable : string.CompareOrdinal(requests[a].ScopeKey, requests[b].ScopeKey);
    }

    [InlineArray(StackWindows)]
    private struct TableBuffer
    {
        private CounterTable _element;
    }

    [InlineArray(StackWindows)]
    private struct WindowBuffer
    {
        private SlidingWindowLog? _element;
    }

    private sealed class SweepState(WeakReference<InMemoryCounterStore> store)
    {
        public WeakReference<InMemoryCounterStore> Store { get; } = store;

        public ITimer? Timer { get; set; }

        public static void OnTick(object state)
        {
            var self = (SweepState)state;
            if (self.Store.TryGetTarget(out InMemoryCounterStore? target))
            {
                target.SweepTick();
            }
            else
            {
                self.Timer?.Dispose();
            }
        }
    }
}
