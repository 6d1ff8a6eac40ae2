namespace PolicyLayer.Benchmarks;

/// <summary>A clock the benchmark moves by hand (100 ns ticks), cheaper than FakeTimeProvider.Advance.</summary>
internal sealed class CounterClock : TimeProvider
{
    public long Now { get; set; } = 1_000_000_000;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Now;
}

/// <summary>Reads a ValueTask that the in-memory store completes synchronously.</summary>
internal static class CounterValueTasks
{
    public static T Sync<T>(this ValueTask<T> task) => task.IsCompleted ? task.Result : task.AsTask().GetAwaiter().GetResult();
}
