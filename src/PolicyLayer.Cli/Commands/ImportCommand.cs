using System.CommandLine;
using System.Text;
using PolicyLayer.Cli.Common;
using PolicyLayer.Cli.Import;

namespace PolicyLayer.Cli.Commands;

/// <summary>
/// <c>policylayer import intercept FILE.yaml [--output FILE]</c>: converts an Intercept YAML policy into a policy
/// document, writes it (stdout, or the output file), and reports on stderr, line by line, what it changed or could not
/// carry over. The result is loaded before it is written, so what is written always loads. Exit 0 when everything was
/// carried over (perhaps changed, as calendar windows become sliding ones), 1 when something was dropped or the result
/// does not load, 2 when the file cannot be read or is not an Intercept policy.
/// </summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "The Intercept policy (YAML)." };
        var output = new Option<string?>("--output", "-o") { Description = "Write the policy here instead of to stdout." };
        var intercept = new Command("intercept", """
            Convert a policy of PolicyLayer's open-source Intercept proxy (YAML) into a policy document (JSON).
            Prints the policy (or writes --output) and, on stderr, 'FILE:LINE: changed: ...' or 'FILE:LINE: not carried: ...'
            for every difference of meaning. Exit codes: 0 all carried over; 1 something was not carried over or the
            result does not load; 2 the file cannot be read or is not an Intercept policy.
            """)
        {
            file,
            output,
        };
        CliApp.SetAction(intercept, (parseResult, cancellationToken) => RunAsync(parseResult.GetValue(file)!, parseResult.GetValue(output), cancellationToken));
        return new Command("import", "Convert policies of other formats into policy documents.") { intercept };
    }

    internal static async Task<int> RunAsync(string file, string? output, CancellationToken cancellationToken)
    {
        var info = new FileInfo(file);
        if (info.Exists && info.Length > InterceptImporter.MaxBytes)
        {
            throw new UsageException($"{file}: the file is {info.Length} bytes; the largest accepted is {InterceptImporter.MaxBytes} bytes.");
        }

        var yaml = PolicyFiles.ReadText(file, "Intercept policy");

        ImportResult result;
        try
        {
            result = InterceptImporter.Convert(yaml);
        }
        catch (ImportException ex)
        {
            throw new UsageException($"{file}:{ex.Line}: {ex.Message}", ex);
        }

        foreach (var note in result.Notes.OrderBy(n => n.Line))
        {
            await Console.Error.WriteLineAsync($"{file}:{note.Line}: {(note.Carried ? "changed" : "not carried")}: {note.Message}").ConfigureAwait(false);
        }

        var json = InterceptImporter.ToJsonText(result.Policy);
        try
        {
            PolicyDocument.Parse(json);
        }
        catch (PolicyValidationException ex)
        {
            // A regex that .NET's linear-time engine refuses, say: the author must look at it; nothing is written.
            PolicyFiles.WriteErrors(output ?? "(converted policy)", ex, Console.Error);
            await Console.Error.WriteLineAsync($"{file}: the converted policy does not load; nothing was written.").ConfigureAwait(false);
            await Console.Error.WriteLineAsync(json).ConfigureAwait(false);
            return ExitCodes.Failed;
        }

        if (output is null)
        {
            await Console.Out.WriteLineAsync(json).ConfigureAwait(false);
        }
        else
        {
            await File.WriteAllTextAsync(output, json + Environment.NewLine, new UTF8Encoding(false), cancellationToken).ConfigureAwait(false);
        }

        var dropped = result.Notes.Count(n => !n.Carried);
        await Console.Error.WriteLineAsync(dropped == 0
            ? $"{file}: converted; {result.Notes.Count} change(s) of meaning listed above."
            : $"{file}: converted with {dropped} construct(s) not carried over (listed above): review before use.").ConfigureAwait(false);
        return dropped == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }
}
