using System.CommandLine;
using System.Globalization;
using PolicyLayer.Cli.Audit;
using PolicyLayer.Cli.Common;

namespace PolicyLayer.Cli.Commands;

/// <summary>
/// <c>policylayer replay --policy NEW AUDIT</c>: decides the recorded calls of an audit log again under another policy
/// (in order, on a fake clock, with fresh counters) and lists every call it decides differently, with both rules. Exit 0
/// when every call that could be decided again is decided the same; 1 when one differs or the policy does not load;
/// 2 for bad usage or a log that cannot be read.
/// </summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var policy = new Option<string>("--policy") { Description = "The policy to decide the recorded calls under.", Required = true };
        var file = new Argument<FileInfo>("AUDIT") { Description = "The audit log (as `policylayer proxy --audit-log` writes it; --audit-arguments records what replay needs)." };
        var command = new Command("replay", """
            Decide the calls recorded in an audit log again under another policy, before enforcing it: in order, on
            a fake clock set to each call's time, with fresh counters. Lists every call decided differently, with
            the recorded and the new rule, and the calls it cannot decide again (their argument values were not
            recorded: write the log with --audit-arguments). Exit codes: 0 no call decided differently; 1 some
            call decided differently, or the policy does not load; 2 bad usage or an unreadable log.
            """)
        {
            policy, file,
        };
        CliApp.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var path = parseResult.GetValue(policy)!;
            var document = PolicyFiles.TryLoad(path, Console.Error);
            if (document is null)
            {
                return ExitCodes.Failed;
            }

            var log = parseResult.GetValue(file)!;
            var output = Console.Out;
            var replayed = 0;
            var differences = 0;
            var undecided = new Dictionary<string, (int Count, List<int> Lines)>(StringComparer.Ordinal);
            var table = new TextTable("line", "time", "tool", "caller", "recorded", "under the new policy");
            using (var replay = new AuditReplay(document))
            using (var reader = AuditCommand.OpenLog(log))
            {
                foreach (var record in AuditReader.Read(reader, log.Name, Console.Error))
                {
                    var call = await replay.ReplayAsync(record, cancellationToken).ConfigureAwait(false);
                    if (call.NotDecided is { } why)
                    {
                        if (!undecided.TryGetValue(why, out var entry))
                        {
                            entry = (0, []);
                        }

                        if (entry.Lines.Count < 10)
                        {
                            entry.Lines.Add(record.Line);
                        }

                        undecided[why] = (entry.Count + 1, entry.Lines);
                        continue;
                    }

                    replayed++;
                    if (call.Differs)
                    {
                        differences++;
                        table.Add(
                            record.Line.ToString(CultureInfo.InvariantCulture), AuditSummary.Format(record.Time), record.Tool, record.Caller,
                            call.Recorded.ToString(), call.Replayed!.ToString());
                    }
                }

                var skipped = undecided.Values.Sum(u => u.Count);
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"Replayed {replayed} of {replayed + skipped} recorded calls under {path} (revision {replay.PolicyRevision}): {differences} decided differently.")).ConfigureAwait(false);
            }

            if (differences > 0)
            {
                await output.WriteLineAsync().ConfigureAwait(false);
                await output.WriteAsync(table.ToString()).ConfigureAwait(false);
            }

            foreach (var (why, (count, lines)) in undecided)
            {
                var shown = string.Join(", ", lines);
                var more = count > lines.Count ? ", ..." : string.Empty;
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"\nCannot decide again {count} call(s): {why}. Lines {shown}{more}.")).ConfigureAwait(false);
            }

            return differences > 0 ? ExitCodes.Failed : ExitCodes.Ok;
        });
        return command;
    }
}
