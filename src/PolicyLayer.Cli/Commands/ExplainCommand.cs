using System.CommandLine;

namespace PolicyLayer.Cli.Commands;

/// <summary>`policylayer explain`.</summary>
internal static class ExplainCommand
{
    public static Command Create() => new("explain", "(not yet implemented)");
}
