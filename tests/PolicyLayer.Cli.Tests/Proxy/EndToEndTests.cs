using System.Diagnostics;
using System.Text.Json;
using PolicyLayer.Cli.Proxy;
using PolicyLayer.TestUtils;

namespace PolicyLayer.Cli.Tests.Proxy;

/// <summary>
/// `policylayer proxy` between two programs nobody here wrote: the official MCP TypeScript SDK's client
/// (tests/e2e-proxy/client.mjs) and @modelcontextprotocol/server-filesystem, both from npm.
/// Needs node and `npm ci --prefix tests/e2e-proxy`: under CI=true their absence fails the tests.
/// </summary>
[NonParallelizable]
[Category(Policylayer.ProcessLevel)]
public class EndToEndTests
{
    private const string Policy = """
        {
          "version": "1",
          "default": "deny",
          "hide": ["move_file"],
          "tools": {
            "read_text_file": {},
            "read_file": {},
            "list_allowed_directories": {},
            "write_file": { "action": "deny", "reason": "Agents do not write files." },
            "create_directory": { "action": "require_approval", "reason": "Creating directories needs a person." }
          }
        }
        """;

    private string _work = null!;
    private string _root = null!;
    private string _policy = null!;

    private static string E2eDir => RepositoryPaths.Get("tests", "e2e-proxy");

    [OneTimeSetUp]
    public void RequireNodeAndPackages()
    {
        var missing = FindNode() is null ? "node is not on PATH"
            : !File.Exists(ServerScript) || !Directory.Exists(Path.Combine(E2eDir, "node_modules", "@modelcontextprotocol", "sdk"))
                ? "tests/e2e-proxy/node_modules is missing (run: npm ci --prefix tests/e2e-proxy)"
                : null;
        if (missing is null)
        {
            return;
        }

        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail("End-to-end proxy tests need a real client and server: " + missing + ".");
        }

        Assert.Ignore(missing);
    }

    [SetUp]
    public void CreateWorkspace()
    {
        _work = Directory.CreateTempSubdirectory("policylayer-e2e-").FullName;
        _root = Directory.CreateDirectory(Path.Combine(_work, "root")).FullName;
        File.WriteAllText(Path.Combine(_root, "hello.txt"), "hello from disk\n");
        _policy = Path.Combine(_work, "policy.json");
        File.WriteAllText(_policy, Policy);
    }

    [TearDown]
    public void DeleteWorkspace() => Directory.Delete(_work, recursive: true);

    [Test]
    public async Task ToolsList_ThroughTheProxy_OmitsHiddenAndDeniedTools()
    {
        var output = await RunClientAsync("none", new object[] { new { list = true } });

        var tools = output.GetProperty("tools").EnumerateArray().Select(t => t.GetString()).ToList();
        tools.Should().Contain(["read_text_file", "create_directory"]);
        tools.Should().NotContain("move_file", "it is hidden");
        tools.Should().NotContain("write_file", "it is denied outright");
        tools.Should().NotContain("edit_file", "the default is deny");
    }

    [Test]
    public async Task AllowedCall_ReadsTheFile()
    {
        var output = await RunClientAsync("none", new object[] { Read() });

        var result = output.GetProperty("results")[0];
        result.GetProperty("isError").GetBoolean().Should().BeFalse();
        result.GetProperty("text").GetString().Should().Be("hello from disk\n");
    }

    [Test]
    public async Task DeniedCalls_AreRefusedAndLeaveTheDiskAsItWas()
    {
        var audit = Path.Combine(_work, "audit.jsonl");
        var written = Path.Combine(_root, "written.txt");
        var made = Path.Combine(_root, "made");

        var output = await RunClientAsync(
            "none",
            new object[]
            {
                new { call = "write_file", arguments = new { path = written, content = "SECRET-CONTENT" } },
                new { call = "create_directory", arguments = new { path = made } },
                Read(),
            },
            "--audit-log", audit);

        var results = output.GetProperty("results");
        results[0].GetProperty("isError").GetBoolean().Should().BeTrue();
        results[0].GetProperty("text").GetString().Should().StartWith("[POLICY DENIED] The call of 'write_file' was denied: Agents do not write files.")
            .And.Contain("Rule: /tools/write_file.").And.EndWith("Do not retry: the same call will be refused again.");
        results[1].GetProperty("text").GetString().Should().StartWith("[POLICY DENIED]")
            .And.Contain("needs a person's approval, which cannot be asked for from this client")
            .And.Contain("Creating directories needs a person.").And.Contain("elicitation");
        results[2].GetProperty("isError").GetBoolean().Should().BeFalse("the session goes on after refusals");
        File.Exists(written).Should().BeFalse();
        Directory.Exists(made).Should().BeFalse();

        var lines = await File.ReadAllLinesAsync(audit);
        lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("outcome").GetString()).Should().Equal("deny", "require_approval", "allow");
        lines.Should().OnlyContain(l => !l.Contains("SECRET-CONTENT"));
        JsonDocument.Parse(lines[0]).RootElement.GetProperty("agent").GetString().Should().Be("e2e-proxy-client");
    }

    [Test]
    public async Task ApprovalRequired_ClientThatAccepts_CreatesTheDirectory()
    {
        var made = Path.Combine(_root, "approved");

        var output = await RunClientAsync("accept", new object[] { new { call = "create_directory", arguments = new { path = made } } });

        output.GetProperty("results")[0].GetProperty("isError").GetBoolean().Should().BeFalse();
        output.GetProperty("elicitations")[0].GetString().Should().Contain("create_directory").And.Contain("Creating directories needs a person.");
        Directory.Exists(made).Should().BeTrue();
    }

    [Test]
    public async Task ApprovalRequired_ClientThatDeclines_IsRefusedAndNothingIsCreated()
    {
        var made = Path.Combine(_root, "declined");

        var output = await RunClientAsync("decline", new object[] { new { call = "create_directory", arguments = new { path = made } } });

        var result = output.GetProperty("results")[0];
        result.GetProperty("isError").GetBoolean().Should().BeTrue();
        result.GetProperty("text").GetString().Should().Contain("declined");
        output.GetProperty("elicitations").GetArrayLength().Should().Be(1);
        Directory.Exists(made).Should().BeFalse();
    }

    [Test]
    public async Task Watch_ReloadThatHidesATool_TheClientIsToldAndItsRefreshedListLeavesItOut()
    {
        var hidden = Policy.Replace("""["move_file"]""", """["move_file", "read_text_file"]""", StringComparison.Ordinal);

        var output = await RunClientAsync(
            "none",
            new object[] { new { list = true }, new { writeFile = _policy, text = hidden }, new { awaitToolsChanged = true }, Read() },
            "--watch", "--watch-interval", "0.05");

        output.GetProperty("tools").EnumerateArray().Select(t => t.GetString()).Should().Contain("read_text_file");
        output.GetProperty("changedTools").EnumerateArray().Select(t => t.GetString()).Should().NotContain("read_text_file").And.Contain("read_file");
        output.GetProperty("results")[0].GetProperty("text").GetString().Should().StartWith("[POLICY DENIED]").And.Contain("Rule: (hidden).");
    }

    private static string ServerScript => Path.Combine(E2eDir, "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js");

    private object Read() => new { call = "read_text_file", arguments = new { path = Path.Combine(_root, "hello.txt") } };

    private async Task<JsonElement> RunClientAsync(string elicitation, object[] steps, params string[] proxyOptions)
    {
        var node = FindNode()!;
        var start = new ProcessStartInfo(node)
        {
            WorkingDirectory = E2eDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] arguments =
        [
            "client.mjs", "--elicitation", elicitation, "--steps", JsonSerializer.Serialize(steps), "--",
            Policylayer.Program, .. Policylayer.ProgramArguments, "proxy", "--policy", _policy, .. proxyOptions, "--",
            node, ServerScript, _root,
        ];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var client = Process.Start(start)!;
        var stdout = client.StandardOutput.ReadToEndAsync();
        var stderr = client.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await client.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            client.Kill(entireProcessTree: true);
            Assert.Fail("The client did not finish within 60 s. stderr:\n" + await stderr);
        }

        var output = await stdout;
        client.ExitCode.Should().Be(0, "the client should finish cleanly; stderr:\n" + await stderr);
        return JsonDocument.Parse(output).RootElement;
    }

    private static string? FindNode() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "node"))
            .FirstOrDefault(File.Exists);
}
