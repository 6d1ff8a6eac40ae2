namespace PolicyLayer;

/// <summary>Options of an <see cref="InMemoryCounterStore"/>.</summary>
public sealed class InMemoryCounterStoreOptions
{
    /// <summary>The clock windows are computed from.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}

/// <summary>
/// Counters in this process's memory: exact sliding windows, all-or-none reservations across counters,
/// and counters of scopes that went quiet forgotten by themselves.
/// </summary>
public sealed class InMemoryCounterStore : CounterStore, IDisposable
{
    /// <summary>Creates a store.</summary>
    /// <param name="options">The store's options.</param>
    public InMemoryCounterStore(InMemoryCounterStoreOptions? options = null)
    {
        _ = options;
    }

    /// <inheritdoc />
    public override ValueTask<CounterReservationResult> TryReserveAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <inheritdoc />
    public override ValueTask ReleaseAsync(ReadOnlyMemory<CounterBudget> reserved, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <inheritdoc />
    public override ValueTask GetBudgetsAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
