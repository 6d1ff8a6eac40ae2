using System.Text;
using Microsoft.Extensions.Logging;

namespace PolicyLayer.Cli.Common;

/// <summary>
/// A logger for the proxy's standard error: each event as lines prefixed <c>policylayer proxy: </c>, written in one
/// write so that the lines of one event stay together among the server's own stderr. Information and above.
/// </summary>
internal sealed class StderrLogger(TextWriter? diagnostics) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => diagnostics is not null && logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (diagnostics is null || !IsEnabled(logLevel))
        {
            return;
        }

        var text = new StringBuilder();
        foreach (var line in formatter(state, exception).ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            text.Append("policylayer proxy: ").Append(line).Append('\n');
        }

        if (exception is not null)
        {
            text.Append("policylayer proxy: ").Append(exception.GetType().Name).Append(": ").Append(exception.Message).Append('\n');
        }

        diagnostics.Write(text.ToString());
        diagnostics.Flush();
    }
}
