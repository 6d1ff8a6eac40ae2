using System.CommandLine;
using PolicyLayer.Cli.Cases;
using PolicyLayer.Cli.Common;

namespace PolicyLayer.Cli.Commands;

/// <summary>
/// <c>policylayer test POLICY CASES...</c>: runs the call sequences of each cases file against the policy, with a
/// fake clock and empty counters per case, and prints a PASS/FAIL line per case with the difference between the
/// expected and the actual decision. Exit 0 when all pass, 1 when any fails or the policy does not load, 2 when a
/// cases file is unreadable or invalid.
/// </summary>
internal static class TestCommand
{
    public static Command Create()
    {
        var policy = new Argument<string>("POLICY") { Description = "The policy file under test." };
        var cases = new Argument<string[]>("CASES")
        {
            Description = "Cases files (JSON; schema: cases.schema.json next to the tool, documented in the README).",
            Arity = ArgumentArity.OneOrMore,
        };
        var filter = new Option<string?>("--filter", "-f") { Description = "Run only the cases whose name contains this text." };
        var command = new Command("test", """
            Run test cases against a policy: call sequences with expected outcomes, with time moved between calls.
            Each case starts with empty counters on a fake clock. Prints PASS or FAIL per case, and for a failure
            the step and each difference (outcome, rule, reason, retry, risk, counters) between expected and actual.
            Exit codes: 0 all cases pass; 1 a case fails or the policy does not load; 2 bad usage or a cases
            file that cannot be read or is invalid.
            """)
        {
            policy, cases, filter,
        };
        CliApp.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var files = parseResult.GetValue(cases)!.Select(CasesReader.Read).ToList();
            var policyPath = parseResult.GetValue(policy)!;
            var document = PolicyFiles.TryLoad(policyPath, Console.Error);
            if (document is null)
            {
                return ExitCodes.Failed;
            }

            var nameFilter = parseResult.GetValue(filter);
            int passed = 0, failed = 0;
            foreach (var file in files)
            {
                Console.Out.WriteLine($"{file.Path} against {policyPath}");
                foreach (var testCase in file.Cases)
                {
                    if (nameFilter is not null && !testCase.Name.Contains(nameFilter, StringComparison.OrdinalIgnoreCase))
                    {
                        continue;
                    }

                    var result = await CaseRunner.RunAsync(document, file, testCase, cancellationToken).ConfigureAwait(false);
                    if (result.FailedStep is null)
                    {
                        passed++;
                        Console.Out.WriteLine($"  PASS  {testCase.Name}");
                    }
                    else
                    {
                        failed++;
                        Console.Out.WriteLine($"  FAIL  {testCase.Name}");
                        Console.Out.WriteLine($"          at {result.FailedStep}");
                        foreach (var difference in result.Differences)
                        {
                            Console.Out.WriteLine($"          {difference}");
                        }
                    }
                }
            }

            Console.Out.WriteLine();
            Console.Out.WriteLine($"{passed + failed} case{(passed + failed == 1 ? "" : "s")}: {passed} passed, {failed} failed.");
            if (passed + failed == 0)
            {
                Console.Error.WriteLine("policylayer test: no case ran" + (nameFilter is null ? "." : $" (no case name contains \"{nameFilter}\")."));
                return ExitCodes.UsageOrIo;
            }

            return failed == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return command;
    }
}
