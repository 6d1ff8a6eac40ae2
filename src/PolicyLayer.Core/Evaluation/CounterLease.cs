namespace PolicyLayer;

/// <summary>
/// The units one call holds in counters, or (for a call a limit refused) the budgets it would have needed. Like the
/// runtime's <c>RateLimitLease</c>: <see cref="IsAcquired"/> says whether it holds anything, and giving it back is
/// idempotent, so hosts need no guard of their own against releasing twice.
/// </summary>
public sealed class CounterLease
{
    private readonly CounterStore? _store;
    private readonly CounterBudget _first;
    private readonly CounterBudget[]? _all;
    private int _released;

    /// <param name="store">The store that holds the units; <see langword="null"/> for a lease that was not acquired.</param>
    /// <param name="first">The first counter's budget.</param>
    /// <param name="all">Every counter's budget when there are two or more; else null.</param>
    internal CounterLease(CounterStore? store, CounterBudget first, CounterBudget[]? all)
    {
        _store = store;
        _first = first;
        _all = all;
    }

    /// <summary>Whether the call holds units in the counters (it was allowed and reserved them).</summary>
    public bool IsAcquired => _store is not null;

    /// <summary>Whether the units were given back.</summary>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>The budget of each counter the call counted against (or would have, when a limit refused it).</summary>
    public CounterBudgetList Counters => new(_first, _all, _all?.Length ?? (_first.Counter is null ? 0 : 1));

    /// <summary>
    /// Gives the units back, as for a call whose tool failed. Only the first call gives anything back; every later one,
    /// from any thread, returns at once. A lease that was not acquired holds nothing to give back.
    /// </summary>
    /// <param name="cancellationToken">Cancels the release.</param>
    public ValueTask ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (_store is null || Interlocked.Exchange(ref _released, 1) != 0)
        {
            return default;
        }

        return _all is null ? _store.ReleaseAsync(new[] { _first }, cancellationToken) : _store.ReleaseAsync(_all, cancellationToken);
    }
}
