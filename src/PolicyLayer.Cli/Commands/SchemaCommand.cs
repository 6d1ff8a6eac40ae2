using System.CommandLine;
using PolicyLayer.Cli.Common;

namespace PolicyLayer.Cli.Commands;

/// <summary>
/// <c>policylayer schema</c>: prints the JSON Schema of the policy format, the one the library validates against
/// (<see cref="PolicyDocument.GetJsonSchema"/>), so that editors can complete and check policy files:
/// <c>policylayer schema &gt; policy.schema.json</c> beside the policy, which names it in its <c>$schema</c>.
/// </summary>
internal static class SchemaCommand
{
    /// <summary>The file name <c>init</c> gives the schema beside a policy, and the policy's <c>$schema</c> names.</summary>
    internal const string FileName = "policy.schema.json";

    public static Command Create()
    {
        var command = new Command("schema", $"""
            Print the JSON Schema of the policy format. Save it beside a policy as {FileName} and name it in the
            policy's "$schema" ("./{FileName}", as 'policylayer init' writes) for completion and checking in editors,
            offline. The same file is in the tool's package.
            Exit codes: 0 printed; 2 bad usage.
            """);
        CliApp.SetAction(command, async (_, cancellationToken) =>
        {
            await Console.Out.WriteAsync(PolicyDocument.GetJsonSchema().AsMemory(), cancellationToken).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }
}
