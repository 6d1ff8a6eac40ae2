using System.CommandLine;

namespace PolicyLayer.Cli.Commands;

/// <summary>`policylayer validate`.</summary>
internal static class ValidateCommand
{
    public static Command Create() => new("validate", "(not yet implemented)");
}
