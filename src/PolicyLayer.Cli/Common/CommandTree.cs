using System.CommandLine;
using PolicyLayer.Cli.Commands;
using PolicyLayer.Cli.Proxy;

namespace PolicyLayer.Cli.Common;

/// <summary>The tool's commands under one root. Each command lives in its own file; this only composes them.</summary>
internal static class CommandTree
{
    private const string Description = "policylayer: validate, test, explain and classify MCP policy files; enforce them in front of any MCP server, over stdio or Streamable HTTP; summarise and replay the audit log.";

    /// <summary>The commands, by the name each is created with, in the order help lists them.</summary>
    internal static readonly (string Name, Func<Command> Create)[] Commands =
    [
        ("validate", ValidateCommand.Create),
        ("explain", ExplainCommand.Create),
        ("test", TestCommand.Create),
        ("classify", ClassifyCommand.Create),
        ("init", InitCommand.Create),
        ("import", ImportCommand.Create),
        ("schema", SchemaCommand.Create),
        ("audit", AuditCommand.Create),
        ("replay", ReplayCommand.Create),
        ("grants", GrantsCommand.Create),
        ("proxy", ProxyCommand.Create),
    ];

    /// <summary>
    /// The root command with every command under it, and the proxy command. <see cref="RootCommand"/> adds --help,
    /// --version and the [suggest] directive, whose texts System.CommandLine reads through a ResourceManager: in the
    /// native binary that first use of reflection costs milliseconds of every start, paid by every proxy an MCP client
    /// spawns (docs/benchmarks.md, "Start-up, session 4"). Without <paramref name="withRootOptions"/> the same commands sit
    /// under a plain root, which parses every command line that names none of those (<see cref="CliApp.NeedsRootOptions"/>)
    /// with the same results.
    /// </summary>
    public static (Command Root, Command Proxy) Create(bool withRootOptions)
    {
        var root = Root(withRootOptions, only: null);
        return (root, Find(root, "proxy")!);
    }

    /// <summary>
    /// The root that parses <paramref name="args"/>: the full tree when help, version or a directive is asked for (or
    /// nothing is), else a plain root holding only the command that the first argument names (building the other ten,
    /// their options and descriptions, was a tenth of the native proxy's start-up CPU), or every command when the first
    /// argument names none, so that the error is the same as under the full tree. Also gives the proxy command when it
    /// was built, for <see cref="ServerCommandLine.SeparateServerCommand"/>.
    /// </summary>
    public static (Command Root, Command? Proxy) ForCommandLine(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (CliApp.NeedsRootOptions(args))
        {
            return Create(withRootOptions: true);
        }

        var named = Array.Exists(Commands, c => string.Equals(c.Name, args[0], StringComparison.Ordinal)) ? args[0] : null;
        var root = Root(withRootOptions: false, named);
        return (root, Find(root, "proxy"));
    }

    private static Command Root(bool withRootOptions, string? only)
    {
        Command root = withRootOptions ? new RootCommand(Description) : new Command("policylayer", Description);
        foreach (var (name, create) in Commands)
        {
            if (only is null || string.Equals(name, only, StringComparison.Ordinal))
            {
                root.Subcommands.Add(create());
            }
        }

        return root;
    }

    private static Command? Find(Command root, string name)
    {
        foreach (var command in root.Subcommands)
        {
            if (string.Equals(command.Name, name, StringComparison.Ordinal))
            {
                return command;
            }
        }

        return null;
    }
}
