namespace PolicyLayer;

/// <summary>
/// A counter store that cannot answer: its server is down, unreachable or slower than the time-out the host set.
/// The evaluator turns it into a refusal (fail closed) or, when the host chose fail-open, an allowed call that is logged.
/// </summary>
public sealed class CounterStoreUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CounterStoreUnavailableException()
        : base("The counter store is unavailable.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, fit to be shown as the reason of a refusal.</param>
    public CounterStoreUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, fit to be shown as the reason of a refusal.</param>
    /// <param name="innerException">The store client's own exception.</param>
    public CounterStoreUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
