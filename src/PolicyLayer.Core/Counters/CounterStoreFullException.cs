namespace PolicyLayer;

/// <summary>
/// A counter store that holds as many live counters as it may (<see cref="InMemoryCounterStoreOptions.MaxLiveCounters"/>)
/// and so cannot start one for a new scope. The evaluator always refuses the call (fail closed, whatever
/// <see cref="CounterStoreFailureMode"/> says): no counter is evicted to make room, since that would reset someone's budget.
/// </summary>
public sealed class CounterStoreFullException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CounterStoreFullException()
        : base("The counter store holds as many live counters as it may; a new scope cannot start one until others go quiet.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is full, fit to be shown as the reason of a refusal.</param>
    public CounterStoreFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is full, fit to be shown as the reason of a refusal.</param>
    /// <param name="innerException">The cause, if any.</param>
    public CounterStoreFullException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
