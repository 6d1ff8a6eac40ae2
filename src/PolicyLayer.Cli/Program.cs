using System.CommandLine;
using PolicyLayer.Cli.Common;

var (root, proxy) = CommandTree.ForCommandLine(args);

// No response files: an argument that starts with '@' is a file name or a server's argument, never a file to expand.
var configuration = new ParserConfiguration { ResponseFileTokenReplacer = null };
return await CliApp.InvokeAsync(root.Parse(proxy is null ? args : ServerCommandLine.SeparateServerCommand(proxy, args), configuration));

/// <summary>The tool's entry point; internal, as the ASP.NET Core generator would otherwise make it public (the tool has no API).</summary>
internal partial class Program;
