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
            all calls together capped at {CallsPerMinute} a minute per session. Each rule's reason says why. Its "$schema"
            is {SchemaReference}, which -o writes beside it (else: policylayer schema > {SchemaCommand.FileName}).
            Review it, then check it with 'policylayer validate' and test it with 'policylayer test'.
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

            if (outputPath is not null && Path.GetFileName(outputPath) == SchemaCommand.FileName)
            {
                throw new UsageException($"{SchemaCommand.FileName} is the name of the schema written beside the policy; choose another name for the policy.");
            }

            var tools = await ClassifyCommand.ReadToolsAsync(parseResult.GetValue(input)!, parseResult.GetValue(server), parseResult.GetValue(timeout), cancellationToken).ConfigureAwait(false);
            var json = Generate(tools, ToolRiskClassifier.Default, Console.Error);

            // The generated text must load: a starting policy that does not is a bug here, not the user's problem.
            PolicyDocument.Parse(json);
            if (outputPath is null)
            {
                Console.Out.Write(json);
                Console.Error.WriteLine($"The policy's $schema is {SchemaReference}: save the schema beside it with: policylayer schema > {SchemaCommand.FileName}");
            }
            else
            {
                await File.WriteAllTextAsync(outputPath, json, cancellationToken).ConfigureAwait(false);
                Console.Error.WriteLine($"Wrote {outputPath}: {tools.Count} tools. Review it, then: policylayer validate {outputPath}");
                await WriteSchemaBesideAsync(outputPath, parseResult.GetValue(force), cancellationToken).ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// The policy's <c>$schema</c>: the schema file beside it, which <c>init -o</c> writes, so that editors resolve
    /// it offline and it always matches the tool that wrote the policy.
    /// </summary>
    internal const string SchemaReference = "./" + SchemaCommand.FileName;

    /// <summary>
    /// Writes the policy JSON Schema beside <paramref name="policyPath"/>, unless the same file is there; a different
    /// one (another version's) is replaced only with <c>--force</c>, else kept with a warning.
    /// </summary>
    private static async Task WriteSchemaBesideAsync(string policyPath, bool force, CancellationToken cancellationToken)
    {
        var schemaPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(policyPath))!, SchemaCommand.FileName);
        var schema = PolicyDocument.GetJsonSchema();
        if (File.Exists(schemaPath))
        {
            if (await File.ReadAllTextAsync(schemaPath, cancellationToken).ConfigureAwait(false) == schema)
            {
                return;
            }

            if (!force)
            {
                Console.Error.WriteLine($"warning: {schemaPath} differs from this tool's policy schema and was left as it is; --force replaces it.");
                return;
            }
        }

        await File.WriteAllTextAsync(schemaPath, schema, cancellationToken).ConfigureAwait(false);
        Console.Error.WriteLine($"Wrote {schemaPath}, the JSON Schema its $schema names, for editors.");
    }

    /// <summary>The starting policy for <paramref name="tools"/>, as indented JSON.</summary>
    internal static string Generate(IReadOnlyList<ToolDescriptor> tools, ToolRiskClassifier classifier, TextWriter warnings)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("$schema", SchemaReference);
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
