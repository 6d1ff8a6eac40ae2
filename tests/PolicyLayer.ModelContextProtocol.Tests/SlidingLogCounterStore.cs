namespace PolicyLayer.ModelContextProtocol.Tests;

/// <summary>
/// A plain, lock-based exact sliding-log store, so these tests do not depend on the production store.
/// Counts what is reserved and released so tests can assert that a call was counted once, or given back.
/// </summary>
internal sealed class SlidingLogCounterStore(TimeProvider time) : CounterStore
{
    private readonly Dictionary<(string, string), List<(long Id, DateTimeOffset At, long Amount)>> _logs = new();
    private readonly object _lock = new();
    private long _nextId;

    public int Reservations { get; private set; }

    public int Releases { get; private set; }

    /// <summary>When set, every reservation throws <see cref="CounterStoreUnavailableException"/>, as a store whose server is down.</summary>
    public bool Unavailable { get; set; }

    public long Used(string counter, string scopeKey)
    {
        lock (_lock)
        {
            return _logs.TryGetValue((counter, scopeKey), out var log) ? Live(log, null).Sum(e => e.Amount) : 0;
        }
    }

    /// <summary>The units held in <paramref name="counter"/> across all its scope keys.</summary>
    public long Used(string counter)
    {
        lock (_lock)
        {
            return _logs.Where(l => l.Key.Item1 == counter).Sum(l => Live(l.Value, null).Sum(e => e.Amount));
        }
    }

    public override ValueTask<CounterReservationResult> TryReserveAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default)
    {
        if (Unavailable)
        {
            throw new CounterStoreUnavailableException("The test store is down.");
        }

        lock (_lock)
        {
            var now = time.GetUtcNow();
            var span = requests.Span;
            for (var i = 0; i < span.Length; i++)
            {
                var r = span[i];
                var live = Live(Log(r), r.Counter.Window);
                var used = live.Sum(e => e.Amount);
                if (used + r.Amount > r.Counter.Max)
                {
                    var retry = live.Count == 0 ? r.Counter.Window : live[0].At + r.Counter.Window - now;
                    budgets.Span[i] = new CounterBudget(r.Counter, r.ScopeKey, 0, r.Counter.Max - used, retry, 0);
                    return new(CounterReservationResult.Blocked(i, retry));
                }
            }

            for (var i = 0; i < span.Length; i++)
            {
                var r = span[i];
                var id = ++_nextId;
                var log = Log(r);
                log.Add((id, now, r.Amount));
                budgets.Span[i] = new CounterBudget(r.Counter, r.ScopeKey, r.Amount, r.Counter.Max - Live(log, r.Counter.Window).Sum(e => e.Amount), TimeSpan.Zero, id);
            }

            Reservations++;
            return new(CounterReservationResult.Acquired);
        }
    }

    public override ValueTask ReleaseAsync(ReadOnlyMemory<CounterBudget> reserved, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            foreach (var b in reserved.Span)
            {
                if (_logs.TryGetValue((b.Counter.Name, b.ScopeKey), out var log))
                {
                    log.RemoveAll(e => e.Id == b.ReservationId);
                }
            }

            Releases++;
        }

        return default;
    }

    public override ValueTask GetBudgetsAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            for (var i = 0; i < requests.Length; i++)
            {
                var r = requests.Span[i];
                var used = Live(Log(r), r.Counter.Window).Sum(e => e.Amount);
                budgets.Span[i] = new CounterBudget(r.Counter, r.ScopeKey, 0, r.Counter.Max - used, TimeSpan.Zero, 0);
            }
        }

        return default;
    }

    private List<(long Id, DateTimeOffset At, long Amount)> Log(CounterRequest r)
    {
        if (!_logs.TryGetValue((r.Counter.Name, r.ScopeKey), out var log))
        {
            _logs[(r.Counter.Name, r.ScopeKey)] = log = [];
        }

        return log;
    }

    private List<(long Id, DateTimeOffset At, long Amount)> Live(List<(long Id, DateTimeOffset At, long Amount)> log, TimeSpan? window)
    {
        if (window is { } w)
        {
            var now = time.GetUtcNow();
            log.RemoveAll(e => e.At <= now - w);
        }

        return log;
    }
}
