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

    /// <summary>Records that <paramref name="tool"/> started.</summary>
    public void Record(string tool)
    {
        _started.Enqueue(tool);
        stderr?.WriteLine(StartedPrefix + tool);
        stderr?.Flush();
        ToolStarted?.Invoke(tool);
    }
}
