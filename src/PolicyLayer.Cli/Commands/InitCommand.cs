using System.CommandLine;

namespace PolicyLayer.Cli.Commands;

/// <summary>`policylayer init`.</summary>
internal static class InitCommand
{
    public static Command Create() => new("init", "(not yet implemented)");
}
