namespace PolicyLayer;

/// <summary>
/// Where sliding-window counters live. A store reserves units in several counters at once, all or
/// none, and never lets any interval of a counter's window hold more than its <see cref="CounterDefinition.Max"/>.
/// </summary>
/// <remarks>
/// Implementations must be safe to call from many threads. The in-memory store serves one process;
/// the Redis store (package PolicyLayer.Redis) serves several instances of a server.
/// </remarks>
public abstract class CounterStore
{
    /// <summary>
    /// Reserves every request's amount in its counter, or nothing at all. Fills <paramref name="budgets"/>
    /// (same length as <paramref name="requests"/>) with each counter's state after the attempt.
    /// </summary>
    /// <param name="requests">The counters and amounts; each counter appears at most once.</param>
    /// <param name="budgets">Receives one budget per request, in the same order.</param>
    /// <param name="cancellationToken">Cancels the reservation.</param>
    /// <returns>Acquired, or the index of a counter that had no room and when it will.</returns>
    public abstract ValueTask<CounterReservationResult> TryReserveAsync(
        ReadOnlyMemory<CounterRequest> requests,
        Memory<CounterBudget> budgets,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives back the units of a reservation, such as that of a call whose tool then failed. Release is one-shot: a
    /// reservation given back again (or from several threads at once) frees its units once, never another call's.
    /// </summary>
    /// <param name="reserved">Budgets returned by <see cref="TryReserveAsync"/> for an acquired reservation.</param>
    /// <param name="cancellationToken">Cancels the release.</param>
    public abstract ValueTask ReleaseAsync(ReadOnlyMemory<CounterBudget> reserved, CancellationToken cancellationToken = default);

    /// <summary>Reads each counter's budget without reserving anything.</summary>
    /// <param name="requests">The counters and the amounts a call would ask.</param>
    /// <param name="budgets">Receives one budget per request, in the same order, with <see cref="CounterBudget.Reserved"/> zero.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public abstract ValueTask GetBudgetsAsync(
        ReadOnlyMemory<CounterRequest> requests,
        Memory<CounterBudget> budgets,
        CancellationToken cancellationToken = default);
}
