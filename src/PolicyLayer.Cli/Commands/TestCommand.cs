using System.CommandLine;

namespace PolicyLayer.Cli.Commands;

/// <summary>`policylayer test`.</summary>
internal static class TestCommand
{
    public static Command Create() => new("test", "(not yet implemented)");
}
