using System.CommandLine;

namespace PolicyLayer.Cli.Commands;

/// <summary>`policylayer classify`.</summary>
internal static class ClassifyCommand
{
    public static Command Create() => new("classify", "(not yet implemented)");
}
