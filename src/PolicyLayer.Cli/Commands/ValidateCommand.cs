using System.CommandLine;
using PolicyLayer.Cli.Common;

namespace PolicyLayer.Cli.Commands;

/// <summary>
/// <c>policylayer validate POLICY...</c>: loads each file; prints <c>FILE: ok</c> on stdout for each that loads and
/// <c>FILE:LINE:COL: PATH: message</c> on stderr for each error. Exit 0 when all load, 1 when any has errors,
/// 2 when a file cannot be read.
/// </summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("POLICY")
        {
            Description = "Policy files to check.",
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command("validate", """
            Check policy files. Prints 'FILE: ok' (stdout) for each file that loads, and
            'FILE:LINE:COL: PATH: message' (stderr) for each error, every error of every file at once.
            Exit codes: 0 all files load; 1 a file has errors; 2 a file cannot be read or bad usage.
            """)
        {
            files,
        };
        CliApp.SetAction(command, (parseResult, _) => Task.FromResult(Run(parseResult.GetValue(files)!)));
        return command;
    }

    private static int Run(string[] files)
    {
        var exit = ExitCodes.Ok;
        foreach (var file in files)
        {
            try
            {
                var policy = PolicyDocument.Load(file);
                Console.Out.WriteLine($"{file}: ok ({policy.Counters.Count} counter{(policy.Counters.Count == 1 ? "" : "s")}, default {PolicyLayer.Evaluation.PolicyExplainer.ActionName(policy.Default)})");
            }
            catch (PolicyValidationException ex)
            {
                PolicyFiles.WriteErrors(file, ex, Console.Error);
                Console.Error.WriteLine($"{file}: {ex.Errors.Count} error{(ex.Errors.Count == 1 ? "" : "s")}");
                exit = Math.Max(exit, ExitCodes.Failed);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"{file}: cannot read: {PolicyFiles.Describe(ex)}");
                exit = ExitCodes.UsageOrIo;
            }
        }

        return exit;
    }
}
