using System.Diagnostics;

namespace PolicyLayer.Cli.Tests;

/// <summary>
/// The README's main job, <c>dotnet run --project samples/KestraServer -- --demo</c>: a one-screen tour whose every
/// decision is the policy's. Asserted by outcome and rule, never by the refusal's wording, which the server owns.
/// </summary>
public class DemoTests
{
    /// <summary>What fits on one screen of a terminal.</summary>
    private const int ScreenLines = 40;

    [Test]
    public async Task Demo_ShowsEveryKindOfDecision_OnOneScreen_AndThePolicysTestsPass()
    {
        var (exitCode, output) = await RunDemoAsync();

        exitCode.Should().Be(0, output);
        var lines = output.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        lines.Should().HaveCountLessThanOrEqualTo(ScreenLines, output);
        output.Should().NotContain("UNEXPECTED");
        lines.Should().Contain(l => l.StartsWith("tools/list shows 6 of the server's 7 tools:", StringComparison.Ordinal) && !l.Contains("delete_flow"));
        lines.Should().Contain(l => l.Contains("delete_flow is missing: /tools/delete_* denies it"));
        ShouldHave(lines, "allowed", "list_flows", ": allowed -> ");
        ShouldHave(lines, "allowed", "create_flow", ": allowed -> ");
        ShouldHave(lines, "deny_if", "create_flow", ": refused by /tools/create_flow/deny_if/0");
        ShouldHave(lines, "rate limit", "add_execution_labels x31", ": 30 allowed, 1 refused by /tools/add_execution_labels/limits/0");
        ShouldHave(lines, "spend cap", "backfill_flow", ": allowed -> ");
        ShouldHave(lines, "spend cap", "backfill_flow", ": refused by /tools/backfill_flow/limits/0");
        ShouldHave(lines, "require", "execute_flow", ": refused by /tools/execute_flow/require/0");
        ShouldHave(lines, "approved", "execute_flow", ": allowed -> ");
        ShouldHave(lines, "declined", "execute_flow", ": refused by /tools/execute_flow");
        lines.Should().Contain("7 cases: 7 passed, 0 failed.");
    }

    private static void ShouldHave(List<string> lines, string label, string call, string outcome) =>
        lines.Should().Contain(
            l => l.StartsWith(label.PadRight(10) + "  " + call, StringComparison.Ordinal) && l.Contains(outcome, StringComparison.Ordinal),
            $"the demo shows a line '{label}  {call} ...{outcome}'");

    private static async Task<(int ExitCode, string Output)> RunDemoAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = PolicyLayer.TestUtils.RepositoryPaths.Root,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "KestraServer.dll"));
        start.ArgumentList.Add("--demo");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("The demo did not end within 120 s.");
        }

        var err = await stderr;
        return (process.ExitCode, await stdout + (err.Length > 0 ? "\n--- stderr ---\n" + err : ""));
    }
}
