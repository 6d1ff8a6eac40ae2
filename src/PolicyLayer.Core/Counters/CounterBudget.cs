namespace PolicyLayer;

/// <summary>The state of one counter for one call: what it reserved, what is left, and when more frees up.</summary>
public readonly struct CounterBudget
{
    /// <summary>Creates a budget report.</summary>
    /// <param name="counter">The counter.</param>
    /// <param name="scopeKey">The bucket of the counter's scope.</param>
    /// <param name="reserved">The units this call holds in the counter; zero when it holds none.</param>
    /// <param name="remaining">The units still free in the window after this call.</param>
    /// <param name="retryAfter">How long until the amount asked for fits; zero when it fits now.</param>
    /// <param name="reservationId">The store's id of the reservation, used to give it back.</param>
    public CounterBudget(CounterDefinition counter, string scopeKey, long reserved, long remaining, TimeSpan retryAfter, long reservationId)
    {
        Counter = counter;
        ScopeKey = scopeKey;
        Reserved = reserved;
        Remaining = remaining;
        RetryAfter = retryAfter;
        ReservationId = reservationId;
    }

    /// <summary>The counter.</summary>
    public CounterDefinition Counter { get; }

    /// <summary>The bucket of the counter's scope (the grant id for a grant counter; empty for global).</summary>
    public string ScopeKey { get; }

    /// <summary>The units this call holds in the counter; zero when it holds none.</summary>
    public long Reserved { get; }

    /// <summary>The units still free in the current window.</summary>
    public long Remaining { get; }

    /// <summary>
    /// How long until the amount asked for fits in the window, if nothing else is reserved meanwhile;
    /// <see cref="TimeSpan.Zero"/> when it fits now; <see cref="TimeSpan.MaxValue"/> when it never can
    /// (the amount exceeds <see cref="CounterDefinition.Max"/>).
    /// </summary>
    public TimeSpan RetryAfter { get; }

    /// <summary>The store's id of the reservation; meaningful to the store that made it.</summary>
    public long ReservationId { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Counter?.Name}[{ScopeKey}]: reserved {Reserved}, remaining {Remaining}, retry after {RetryAfter}";
}
