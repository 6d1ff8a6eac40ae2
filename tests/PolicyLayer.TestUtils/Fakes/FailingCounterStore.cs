namespace PolicyLayer.TestUtils.Fakes;

/// <summary>A counter store that fails every operation, as a store in an outage would.</summary>
public sealed class FailingCounterStore(Exception? failure = null, bool async = false) : CounterStore
{
    private readonly Exception _failure = failure ?? new TimeoutException("The counter store did not answer.");

    public int Calls { get; private set; }

    public override ValueTask<CounterReservationResult> TryReserveAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default)
    {
        Calls++;
        return async ? FailLater<CounterReservationResult>() : throw _failure;
    }

    public override ValueTask ReleaseAsync(ReadOnlyMemory<CounterBudget> reserved, CancellationToken cancellationToken = default) => throw _failure;

    public override ValueTask GetBudgetsAsync(ReadOnlyMemory<CounterRequest> requests, Memory<CounterBudget> budgets, CancellationToken cancellationToken = default)
    {
        Calls++;
        return async ? new ValueTask(FailLater<int>().AsTask()) : throw _failure;
    }

    private async ValueTask<T> FailLater<T>()
    {
        await Task.Yield();
        throw _failure;
    }
}
