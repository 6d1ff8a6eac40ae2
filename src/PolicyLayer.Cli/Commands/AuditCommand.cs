using System.CommandLine;
using System.Text;
using PolicyLayer.Cli.Audit;
using PolicyLayer.Cli.Common;

namespace PolicyLayer.Cli.Commands;

/// <summary>
/// <c>policylayer audit FILE [--top N] [--html REPORT]</c>: what an audit log says, per outcome, tool, refusing rule,
/// caller, counter and over time; <c>--html</c> also writes a self-contained report with charts. Exit 0 summarised;
/// 2 for bad usage, an unreadable file, or a line that is not an audit line (named by its line number).
/// </summary>
internal static class AuditCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "The audit log (JSON Lines, as `policylayer proxy --audit-log` writes it; docs/audit.schema.json)." };
        var top = new Option<int>("--top")
        {
            Description = "How many rows each table shows (the most frequent first).",
            DefaultValueFactory = _ => 20,
        };
        var html = new Option<FileInfo?>("--html") { Description = "Also write a self-contained HTML report with charts to this file." };
        var command = new Command("audit", """
            Summarise an audit log: decisions by outcome, by tool, the rules that refused most, by caller, the peak
            use of each counter's budget, and decisions over time. --html also writes the same as a self-contained
            HTML page with charts. Exit codes: 0 summarised; 2 bad usage, an unreadable file, or a line that is
            not an audit line.
            """)
        {
            file, top, html,
        };
        CliApp.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var log = parseResult.GetValue(file)!;
            var rows = parseResult.GetValue(top);
            if (rows < 1)
            {
                throw new UsageException($"--top must be at least 1; got {rows}.");
            }

            var summary = new AuditSummary();
            using (var reader = OpenLog(log))
            {
                foreach (var record in AuditReader.Read(reader, log.Name, Console.Error))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    summary.Add(record);
                }
            }

            await Console.Out.WriteAsync(summary.ToText(rows)).ConfigureAwait(false);
            if (parseResult.GetValue(html) is { } report)
            {
                await File.WriteAllTextAsync(report.FullName, AuditHtmlReport.Render(summary, log.Name, rows), new UTF8Encoding(false), cancellationToken).ConfigureAwait(false);
                await Console.Out.WriteLineAsync($"\nWrote {report.FullName}").ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Opens a log for reading while a proxy may still be appending to it.</summary>
    internal static StreamReader OpenLog(FileInfo log) =>
        log.Exists
            ? new StreamReader(new FileStream(log.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete), new UTF8Encoding(false))
            : throw new UsageException($"{log.FullName}: no such file.");
}
