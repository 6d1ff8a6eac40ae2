using System.CommandLine;
using System.Text.Json;
using PolicyLayer.Cli.Common;

namespace PolicyLayer.Cli.Commands;

/// <summary>
/// <c>policylayer classify TOOLS.json [--json]</c> and <c>policylayer classify --server -- CMD ARGS...</c>: the risk
/// category, level and evidence of each tool, as a table or as JSON. Exit 0 on success, 2 for bad usage, an
/// unreadable file or a server that does not answer.
/// </summary>
internal static class ClassifyCommand
{
    public static Command Create()
    {
        var input = new Argument<string[]>("TOOLS.json | -- CMD ARGS")
        {
            Description = "A tools/list result ({\"tools\":[...]}), a bare array of MCP tools, or '-' for stdin; with --server, the server's command after '--'.",
            Arity = ArgumentArity.OneOrMore,
        };
        var server = new Option<bool>("--server") { Description = "Start the stdio MCP server given after '--' and classify its live tool list." };
        var json = new Option<bool>("--json") { Description = "Print JSON ({\"tools\":[{name, category, level, evidence}]}) instead of a table." };
        var policy = new Option<string?>("--policy", "-p") { Description = "Apply this policy's classify section, and show whether tools/list would show each tool." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the server's tool list.", DefaultValueFactory = _ => 30 };
        var command = new Command("classify", """
            Classify MCP tools by risk (read, write, execute, destructive, financial) from their annotations,
            names, descriptions and input schemas, with the evidence. A table for people, --json for scripts.
            Exit codes: 0 classified; 1 the --policy does not load; 2 bad usage, unreadable file or server failure.
            """)
        {
            input, server, json, policy, timeout,
        };
        CliApp.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var tools = await ReadToolsAsync(parseResult.GetValue(input)!, parseResult.GetValue(server), parseResult.GetValue(timeout), cancellationToken).ConfigureAwait(false);
            PolicyEvaluator? evaluator = null;
            if (parseResult.GetValue(policy) is { } policyPath)
            {
                var document = PolicyFiles.TryLoad(policyPath, Console.Error);
                if (document is null)
                {
                    return ExitCodes.Failed;
                }

                evaluator = new PolicyEvaluator(document);
            }

            using (evaluator)
            {
                var rows = tools.Select(t => (Tool: t, Risk: evaluator?.Classify(t) ?? ToolRiskClassifier.Default.Classify(t), Listed: evaluator?.IsListed(t))).ToList();
                if (parseResult.GetValue(json))
                {
                    WriteJson(rows);
                }
                else
                {
                    var table = evaluator is null ? new TextTable("TOOL", "CATEGORY", "LEVEL", "EVIDENCE") : new TextTable("TOOL", "CATEGORY", "LEVEL", "LISTED", "EVIDENCE");
                    foreach (var (tool, risk, listed) in rows)
                    {
                        var evidence = risk.Evidence.Count == 0 ? "" : risk.Evidence[0] + (risk.Evidence.Count > 1 ? $" (+{risk.Evidence.Count - 1} more)" : "");
                        var category = risk.Category.ToString().ToLowerInvariant();
                        var level = risk.Level.ToString().ToLowerInvariant();
                        if (listed is null)
                        {
                            table.Add(tool.Name, category, level, evidence);
                        }
                        else
                        {
                            table.Add(tool.Name, category, level, listed.Value ? "yes" : "no", evidence);
                        }
                    }

                    Console.Out.Write(table.ToString());
                    Console.Out.WriteLine($"{rows.Count} tool{(rows.Count == 1 ? "" : "s")}: " + string.Join(", ", rows.GroupBy(r => r.Risk.Category).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}")));
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The tools named by the command's input: a file, stdin, or (with --server) a server's live list.</summary>
    internal static async Task<List<ToolDescriptor>> ReadToolsAsync(string[] input, bool server, int timeoutSeconds, CancellationToken cancellationToken)
    {
        if (server)
        {
            return await ToolLists.ReadServerAsync(input, TimeSpan.FromSeconds(Math.Max(1, timeoutSeconds)), cancellationToken).ConfigureAwait(false);
        }

        if (input.Length != 1)
        {
            throw new UsageException($"expected one tools file, got {input.Length} arguments. To classify a running server: --server -- CMD ARGS...");
        }

        return await ToolLists.ReadFileAsync(input[0], cancellationToken).ConfigureAwait(false);
    }

    private static void WriteJson(List<(ToolDescriptor Tool, RiskProfile Risk, bool? Listed)> rows)
    {
        using var stream = Console.OpenStandardOutput();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("tools");
            foreach (var (tool, risk, listed) in rows)
            {
                writer.WriteStartObject();
                writer.WriteString("name", tool.Name);
                writer.WriteString("category", risk.Category.ToString().ToLowerInvariant());
                writer.WriteString("level", risk.Level.ToString().ToLowerInvariant());
                if (listed is { } shown)
                {
                    writer.WriteBoolean("listed", shown);
                }

                writer.WriteStartArray("evidence");
                foreach (var item in risk.Evidence)
                {
                    writer.WriteStringValue(item);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
    }
}
