using System.Diagnostics;
using System.Text.Json;
using PolicyLayer.TestUtils;

namespace PolicyLayer.ModelContextProtocol.Tests;

/// <summary>
/// Runs a script of tests/e2e-client with node: an MCP client nobody here wrote (the official TypeScript SDK, installed
/// with <c>npm ci --prefix tests/e2e-client</c>). Under CI=true a missing node or node_modules fails the test; locally
/// it is ignored.
/// </summary>
internal static class NodeClient
{
    /// <summary>Runs <paramref name="script"/> with <paramref name="args"/>; returns its last stdout line as JSON.</summary>
    public static async Task<JsonDocument> RunAsync(string script, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var clientDir = RepositoryPaths.Get("tests", "e2e-client");
        var node = FindOnPath("node");
        if (node is null || !Directory.Exists(Path.Combine(clientDir, "node_modules", "@modelcontextprotocol", "sdk")))
        {
            const string why = "node and tests/e2e-client/node_modules are needed: run `npm ci --prefix tests/e2e-client`.";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail(why);
            }

            Assert.Ignore(why);
        }

        var start = new ProcessStartInfo(node!)
        {
            WorkingDirectory = clientDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(clientDir, script));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        var stdout = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        process.ExitCode.Should().Be(0, await stderr);
        return JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
