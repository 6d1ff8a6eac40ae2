using System.CommandLine;
using PolicyLayer.Cli.Commands;
using PolicyLayer.Cli.Common;
using PolicyLayer.Cli.Proxy;

// Each command lives in its own file; this only composes them.
var proxy = ProxyCommand.Create();
var root = new RootCommand("policylayer: validate, test, explain and classify MCP policy files; enforce them in front of any MCP server, over stdio or Streamable HTTP; summarise and replay the audit log.")
{
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
};

// No response files: an argument that starts with '@' is a file name or a server's argument, never a file to expand.
var configuration = new ParserConfiguration { ResponseFileTokenReplacer = null };
return await CliApp.InvokeAsync(root.Parse(ServerCommandLine.SeparateServerCommand(proxy, args), configuration));

/// <summary>The tool's entry point; internal, as the ASP.NET Core generator would otherwise make it public (the tool has no API).</summary>
internal partial class Program;
