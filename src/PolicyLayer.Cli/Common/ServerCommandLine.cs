using System.CommandLine;

namespace PolicyLayer.Cli.Common;

/// <summary>
/// The command line of a server that a command starts (<c>policylayer proxy --policy p.json npx -y server</c>):
/// everything from the first positional argument on belongs to the server, verbatim, whether or not a <c>--</c>
/// comes before it. MCP clients and the MCP Inspector pass arguments on without the <c>--</c> (some swallow it),
/// and a server's own options (<c>--port</c>, <c>--shadow</c>) must never be read as the proxy's.
/// </summary>
internal static class ServerCommandLine
{
    /// <summary>
    /// <paramref name="args"/> with a <c>--</c> inserted before the first positional argument of
    /// <paramref name="command"/> when the command line invokes it and has no <c>--</c> before that argument;
    /// otherwise <paramref name="args"/> itself. Options are recognised by <paramref name="command"/>'s own options:
    /// an option that takes a value consumes the next token (a <see cref="bool"/> option only <c>true</c> or
    /// <c>false</c>); anything else that starts with <c>-</c> is left to the parser to accept or refuse.
    /// </summary>
    public static IReadOnlyList<string> SeparateServerCommand(Command command, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count == 0 || !string.Equals(args[0], command.Name, StringComparison.Ordinal))
        {
            return args;
        }

        for (var i = 1; i < args.Count; i++)
        {
            var token = args[i];
            if (token == "--")
            {
                return args;
            }

            if (token.Length < 2 || token[0] != '-')
            {
                // The first positional: the server's command. Everything from here on is the server's.
                return [.. args.Take(i), "--", .. args.Skip(i)];
            }

            if (FindOption(command, token) is { } option && TakesNextToken(option, i + 1 < args.Count ? args[i + 1] : null))
            {
                i++;
            }
        }

        return args;
    }

    /// <summary>The option <paramref name="token"/> names, when it names one alone (not <c>--name=value</c>).</summary>
    private static Option? FindOption(Command command, string token)
    {
        foreach (var option in command.Options)
        {
            if (option.Name == token || option.Aliases.Contains(token))
            {
                return option;
            }
        }

        return null;
    }

    private static bool TakesNextToken(Option option, string? next)
    {
        if (next is null || option.Arity.MaximumNumberOfValues == 0)
        {
            return false;
        }

        if (option.ValueType == typeof(bool))
        {
            // `--shadow node server.js`: a flag takes only an explicit true or false.
            return bool.TryParse(next, out _);
        }

        return option.Arity.MinimumNumberOfValues > 0 || !next.StartsWith('-');
    }
}
