using System.Collections.Concurrent;

namespace PolicyLayer.ContractServer;

/// <summary>The tools a contract server started, in order; run as a process, it also writes <c>contract: started TOOL</c> to stderr.</summary>
public sealed class ContractLog(TextWriter? stderr = null)
{
    /// <summary>The line a tool's start writes to stderr.</summary>
    public const string StartedPrefix = "contract: started ";

    private readonly ConcurrentQueue<string> _started = new();

    /// <summary>Raised after each start.</summary>
    public event Action<string>? ToolStarted;

    /// <summary>How many times <paramref name="tool"/> started.</summary>
    public int Count(string tool) => _started.Count(t => t == tool);

    /// <summary>Completes once <paramref name="tool"/> started <paramref name="count"/> times in all; fails after 30 seconds.</summary>
    public async Task WaitForStartAsync(string tool, int count = 1)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnStarted(string name)
        {
            if (Count(tool) >= count)
            {
                started.TrySetResult();
            }
        }

        ToolStarted += OnStarted;
        try
        {
            OnStarted(tool);
            await started.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        finally
        {
            ToolStarted -= OnStarted;
        }
    }

    /// <summary>Records that <paramref name="tool"/> started.</summary>
    public void Record(string tool)
    {
        _started.Enqueue(tool);
        stderr?.WriteLine(StartedPrefix + tool);
        stderr?.Flush();
        ToolStarted?.Invoke(tool);
    }
}
