using System.Diagnostics;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;

namespace PolicyLayer.TestUtils;

/// <summary>
/// Runs a node script of one of the repository's npm folders (tests/e2e-*). Under CI=true a missing node, npm package or
/// other needed file fails the test; locally it is ignored, with the command that installs it.
/// </summary>
public static class NodeScript
{
    /// <summary>Fails (CI) or ignores (locally) the test when <paramref name="present"/> is false.</summary>
    public static void Require(bool present, string why)
    {
        if (present)
        {
            return;
        }

        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail(why);
        }

        Assert.Ignore(why);
    }

    /// <summary>The path of <paramref name="name"/> on PATH, or null.</summary>
    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>Runs <paramref name="script"/> in <paramref name="folder"/> (under tests/) with <paramref name="args"/>; its last stdout line, as JSON.</summary>
    public static async Task<JsonDocument> RunAsync(string folder, string script, IEnumerable<string> args, TimeSpan timeout) =>
        JsonDocument.Parse((await RunForOutputAsync(folder, script, args, timeout)).Trim().Split('\n')[^1]);

    /// <summary>
    /// Runs <paramref name="script"/> (a path under tests/<paramref name="folder"/>, e.g. a package's bin in node_modules) with
    /// <paramref name="args"/>, there; asserts that it exits 0 and returns all it wrote to stdout.
    /// </summary>
    public static async Task<string> RunForOutputAsync(string folder, string script, IEnumerable<string> args, TimeSpan timeout)
    {
        var dir = RepositoryPaths.Get("tests", folder);
        var node = FindOnPath("node");
        Require(node is not null && Directory.Exists(Path.Combine(dir, "node_modules")), $"node and tests/{folder}/node_modules are needed: run `npm ci --prefix tests/{folder}`.");
        var start = new ProcessStartInfo(node!)
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(dir, script));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        using var cancel = new CancellationTokenSource(timeout);
        var stderr = process.StandardError.ReadToEndAsync(cancel.Token);
        var stdout = await process.StandardOutput.ReadToEndAsync(cancel.Token);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        process.ExitCode.Should().Be(0, await stderr);
        return stdout;
    }
}
