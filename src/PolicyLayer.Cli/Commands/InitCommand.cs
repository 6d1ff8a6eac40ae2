using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using PolicyLayer.Cli.Common;
using PolicyLayer.Policies;

namespace PolicyLayer.Cli.Commands;

/// <summary>
/// <c>policylayer init --server -- CMD ARGS...</c> or <c>policylayer init TOOLS.json</c>: writes a starting policy
/// for a server's tools. Default deny; each tool gets a rule by its risk: reads allowed, writes capped, execute,
/// destructive and financial tools held for approval; each rule's <c>reason</c> says why, like a comment.
/// </summary>
internal static class InitCommand
{
    /// <summary>The cap of a write tool in a generated policy: calls per minute per session.</summary>
    internal const int WritesPerMinute = 30;

    /// <summary>The cap of all calls together in a generated policy: calls per minute per session.</summary>
    internal const int CallsPerMinute = 120;

    public static Command Create()
    {
        var input = new Argument<string[]>("TOOLS.json | -- CMD ARGS")
        {
            Description = "A tools/list result or array of MCP tools ('-' for stdin); with --server, the server's command after '--'.",
            Arity = ArgumentArity.OneOrMore,
        };
        var server = new Option<bool>("--server") { Description = "Start the stdio MCP server given after '--' and use its live tool list." };
        var output = new Option<string?>("--output", "-o") { Description = "Write the policy to this file instead of stdout." };
        var force = new Option<bool>("--force") { Description = "Overwrite --output if it exists." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the server's tool list.", DefaultValueFactory = _ => 30 };
        var command = new Command("init", $"""
            Write a starting policy for a server's tools: default deny; read tools allowed; write tools capped at
            {WritesPerMinute} calls a minute per session; execute, destructive and financial tools need a person's approval;
            all calls together capped at {CallsPerMinute} a minute per session. Each rule's reason says why. Review it, then
            check it with 'policylayer validate' and test it with 'policylayer test'.
            Exit codes: 0 written; 2 bad usage, unreadable input, server failure, or --output exists without --force.
            """)
        {
            input, server, output, force, timeout,
        };
        CliApp.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var outputPath = parseResult.GetValue(output);
            if (outputPath is not null && File.Exists(outputPath) && !parseResult.GetValue(force))
            {
                throw new UsageException($"{outputPath} exists; pass --force to overwrite it.");
            }

            var tools = await ClassifyCommand.ReadToolsAsync(parseResult.GetValue(input)!, parseResult.GetValue(server), parseResult.GetValue(timeout), cancellationToken).ConfigureAwait(false);
            var json = Generate(tools, ToolRiskClassifier.Default, Console.Error);

            // The generated text must load: a starting policy that does not is a bug here, not the user's problem.
            PolicyDocument.Parse(json);
            if (outputPath is null)
            {
                Console.Out.Write(json);
            }
            else
            {
                await File.WriteAllTextAsync(outputPath, json, cancellationToken).ConfigureAwait(false);
                Console.Error.WriteLine($"Wrote {outputPath}: {tools.Count} tools. Review it, then: policylayer validate {outputPath}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The starting policy for <paramref name="tools"/>, as indented JSON.</summary>
    internal static string Generate(IReadOnlyList<ToolDescriptor> tools, ToolRiskClassifier classifier, TextWriter warnings)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("version", "1");
            writer.WriteString("default", "deny");
            writer.WriteStartObject("all_tools");
            writer.WriteStartArray("limits");
            WriteLimit(writer, "all_calls", CallsPerMinute);
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteStartObject("tools");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var tool in tools)
            {
                if (GlobPattern.IsGlob(tool.Name) || !seen.Add(tool.Name))
                {
                    warnings.WriteLine($"warning: tool '{tool.Name}' is {(seen.Contains(tool.Name) ? "listed twice" : "named with glob characters")}; it is left to the default (deny).");
                    continue;
                }

                var risk = classifier.Classify(tool);
                var why = risk.Evidence.Count > 0 ? Shorten(risk.Evidence[0]) : "no evidence";
                var kind = $"{risk.Category.ToString().ToLowerInvariant()} ({why})";
                writer.WriteStartObject(tool.Name);
                switch (risk.Category)
                {
                    case RiskCategory.Read:
                        writer.WriteString("reason", $"Classified {kind}: allowed.");
                        break;
                    case RiskCategory.Write:
                        writer.WriteString("reason", string.Create(CultureInfo.InvariantCulture, $"Classified {kind}: allowed, at most {WritesPerMinute} calls a minute per session."));
                        writer.WriteStartArray("limits");
                        WriteLimit(writer, tool.Name + "_per_minute", WritesPerMinute);
                        writer.WriteEndArray();
                        break;
                    default:
                        writer.WriteString("action", "require_approval");
                        writer.WriteString("reason", $"Classified {kind}: a person approves each call.");
                        break;
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + Environment.NewLine;
    }

    private static void WriteLimit(Utf8JsonWriter writer, string counter, int max)
    {
        writer.WriteStartObject();
        writer.WriteString("counter", counter);
        writer.WriteString("window", "minute");
        writer.WriteNumber("max", max);
        writer.WriteString("scope", "session");
        writer.WriteEndObject();
    }

    private static string Shorten(string text) => text.Length <= 100 ? text : text[..97] + "...";
}
