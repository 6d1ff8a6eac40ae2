using System.CommandLine;
using PolicyLayer.Cli.Commands;
using PolicyLayer.Cli.Common;
using PolicyLayer.Cli.Proxy;

// Each command lives in its own file; this only composes them.
var root = new RootCommand("policylayer: validate, test, explain and classify MCP policy files; enforce them in front of any stdio MCP server.")
{
    ValidateCommand.Create(),
    ExplainCommand.Create(),
    TestCommand.Create(),
    ClassifyCommand.Create(),
    InitCommand.Create(),
    ImportCommand.Create(),
    ProxyCommand.Create(),
};

return await CliApp.InvokeAsync(root.Parse(args));
