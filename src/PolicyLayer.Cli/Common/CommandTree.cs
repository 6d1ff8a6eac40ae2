using System.CommandLine;
using PolicyLayer.Cli.Commands;
using PolicyLayer.Cli.Proxy;

namespace PolicyLayer.Cli.Common;

/// <summary>The tool's commands under one root. Each command lives in its own file; this only composes them.</summary>
internal static class CommandTree
{
    private const string Description = "policylayer: validate, test, explain and classify MCP policy files; enforce them in front of any MCP server, over stdio or Streamable HTTP; summarise and replay the audit log.";

    /// <summary>
    /// The root command and the proxy command under it. <see cref="RootCommand"/> adds --help, --version and the
    /// [suggest] directive, whose texts System.CommandLine reads through a ResourceManager: in the native binary that
    /// first use of reflection costs milliseconds of every start, paid by every proxy an MCP client spawns
    /// (docs/benchmarks.md, "Start-up, session 4"). Without <paramref name="withRootOptions"/> the same commands sit
    /// under a plain root, which parses every command line that names none of those (<see cref="CliApp.NeedsRootOptions"/>)
    /// with the same results.
    /// </summary>
    public static (Command Root, Command Proxy) Create(bool withRootOptions)
    {
        var proxy = ProxyCommand.Create();
        Command root = withRootOptions ? new RootCommand(Description) : new Command("policylayer", Description);
        Command[] commands =
        [
            ValidateCommand.Create(),
            ExplainCommand.Create(),
            TestCommand.Create(),
            ClassifyCommand.Create(),
            InitCommand.Create(),
            ImportCommand.Create(),
            SchemaCommand.Create(),
            AuditCommand.Create(),
            ReplayCommand.Create(),
            GrantsCommand.Create(),
            proxy,
        ];
        foreach (var command in commands)
        {
            root.Subcommands.Add(command);
        }

        return (root, proxy);
    }
}
