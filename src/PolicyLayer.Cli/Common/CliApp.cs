using System.CommandLine;
using System.CommandLine.Help;
using System.Text.Json;

namespace PolicyLayer.Cli.Common;

/// <summary>Runs a parsed command line with the tool's exit codes: usage errors exit 2, not System.CommandLine's 1.</summary>
internal static class CliApp
{
    public static async Task<int> InvokeAsync(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        if (parseResult.Errors.Count > 0 && parseResult.Action is not HelpAction)
        {
            foreach (var error in parseResult.Errors)
            {
                await Console.Error.WriteLineAsync("policylayer: " + error.Message).ConfigureAwait(false);
            }

            var command = string.Join(' ', parseResult.CommandResult.Command.Name == parseResult.RootCommandResult.Command.Name
                ? ["policylayer"]
                : new[] { "policylayer", parseResult.CommandResult.Command.Name });
            await Console.Error.WriteLineAsync($"Run '{command} --help' for usage.").ConfigureAwait(false);
            return ExitCodes.UsageOrIo;
        }

        return await parseResult.InvokeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Whether <paramref name="args"/> need what only <see cref="RootCommand"/> has: no arguments (the usage is shown),
    /// a help or version option anywhere (a server's own <c>-h</c> after the proxy's options counts too: it costs
    /// start-up time, never a different parse), or a directive such as <c>[suggest]</c>.
    /// </summary>
    public static bool NeedsRootOptions(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count == 0)
        {
            return true;
        }

        foreach (var arg in args)
        {
            if (arg is "--help" or "-h" or "-?" or "/h" or "/?" or "--version" || arg.StartsWith('['))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Sets <paramref name="command"/>'s action, mapping the errors that are the user's input rather than a bug
    /// (a missing file, unreadable JSON, a server that will not start) to a one-line message and exit code 2.
    /// </summary>
    public static void SetAction(Command command, Func<ParseResult, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            try
            {
                return await action(parseResult, cancellationToken).ConfigureAwait(false);
            }
            catch (UsageException ex)
            {
                await Console.Error.WriteLineAsync($"policylayer {command.Name}: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.UsageOrIo;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
            {
                await Console.Error.WriteLineAsync($"policylayer {command.Name}: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.UsageOrIo;
            }
        });
    }
}

/// <summary>Bad input on the command line or in an input file: printed as one line, exit code 2.</summary>
internal sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public UsageException()
    {
    }
}
