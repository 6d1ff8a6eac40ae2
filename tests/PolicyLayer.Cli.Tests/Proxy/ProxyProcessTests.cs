using System.Diagnostics;
using System.Runtime.InteropServices;
using PolicyLayer.Cli.Proxy;

namespace PolicyLayer.Cli.Tests.Proxy;

/// <summary>The `policylayer proxy` process: exit codes, the child's stderr, and ending the child.</summary>
[NonParallelizable]
[Category(Policylayer.ProcessLevel)]
public class ProxyProcessTests
{
    private string _work = null!;
    private string _policy = null!;

    [SetUp]
    public void CreateWorkspace()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            Assert.Ignore("These tests start /bin/sh children.");
        }

        _work = Directory.CreateTempSubdirectory("policylayer-proxy-").FullName;
        _policy = Path.Combine(_work, "policy.json");
        File.WriteAllText(_policy, """{ "version": "1", "default": "allow" }""");
    }

    [TearDown]
    public void DeleteWorkspace() => Directory.Delete(_work, recursive: true);

    [Test]
    public async Task ChildExit_EndsTheProxyWithTheChildsCodeAndItsStderrPassesThrough()
    {
        var (exitCode, stderr) = await RunToExitAsync("--policy", _policy, "--", "/bin/sh", "-c", "echo child-complains >&2; exit 3");

        exitCode.Should().Be(3);
        stderr.Should().Contain("child-complains");
    }

    [Test]
    public async Task ClientClosesStdin_ClosesTheChildsStdinAndTheProxyExitsWithItsCode()
    {
        using var proxy = StartProxy("--policy", _policy, "--", "/bin/sh", "-c", "cat >/dev/null; exit 4");

        proxy.StandardInput.Close();
        try
        {
            await proxy.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            KillQuietly(proxy);
        }

        proxy.ExitCode.Should().Be(4);
    }

    [Test]
    public async Task ClientClosesStdin_ChildThatIgnoresItsInput_IsKilledAfterTheGracePeriod()
    {
        var pidFile = Path.Combine(_work, "child.pid");
        using var proxy = StartProxy(redirectOutput: false, "--policy", _policy, "--", "/bin/sh", "-c", $"echo $$ > '{pidFile}'; trap '' TERM INT; while true; do sleep 0.1; done");
        var childPid = 0;
        try
        {
            await WaitForAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0);
            childPid = int.Parse(File.ReadAllText(pidFile).Trim());

            proxy.StandardInput.Close();
            await proxy.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await WaitForAsync(() => !IsAlive(childPid));

            IsAlive(childPid).Should().BeFalse();
            proxy.ExitCode.Should().Be(128 + 9, "the child was killed");
        }
        finally
        {
            KillQuietly(proxy);
            if (childPid != 0 && IsAlive(childPid))
            {
                Kill(childPid, 9);
            }
        }
    }

    [TestCase(PosixSignal.SIGTERM)]
    [TestCase(PosixSignal.SIGINT)]
    public async Task Signal_EndsTheChildEvenOneThatIgnoresItsInput(PosixSignal signal)
    {
        // A background job (`cmd &`, as CI runners and scripts often start the tests) starts with SIGINT ignored,
        // and Unix keeps it ignored in every process it starts, the proxy included; a proxy that ignores SIGINT
        // is right there. GNU env (coreutils 8.31+) puts the default action back before it starts the proxy.
        var resetSigInt = signal == PosixSignal.SIGINT && SigIntIsIgnoredHere();
        if (resetSigInt && !OperatingSystem.IsLinux())
        {
            Assert.Ignore("SIGINT is ignored by this test process (a background job), so the proxy would inherit that.");
        }

        var pidFile = Path.Combine(_work, "child.pid");
        using var proxy = StartProxy(redirectOutput: false, resetSigInt, "--policy", _policy, "--", "/bin/sh", "-c", $"echo $$ > '{pidFile}'; trap '' TERM INT; while true; do sleep 0.1; done");
        var childPid = 0;
        try
        {
            await WaitForAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0);
            childPid = int.Parse(File.ReadAllText(pidFile).Trim());

            Kill(proxy.Id, signal == PosixSignal.SIGTERM ? 15 : 2);
            await proxy.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await WaitForAsync(() => !IsAlive(childPid));

            IsAlive(childPid).Should().BeFalse("the proxy exited with {0}", proxy.ExitCode);
        }
        finally
        {
            // Never leave a process behind that holds the test run's output open.
            KillQuietly(proxy);
            if (childPid != 0 && IsAlive(childPid))
            {
                Kill(childPid, 9);
            }
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task PolicyThatDoesNotLoad_ExitsWithTwoAndSaysWhere(bool watch)
    {
        File.WriteAllText(_policy, """{ "version": "1", "default": "maybe" }""");
        var (exitCode, stderr) = await RunToExitAsync(["--policy", _policy, .. watch ? ["--watch"] : Array.Empty<string>(), "--", "/bin/sh", "-c", "exit 0"]);

        exitCode.Should().Be(ProxyCommand.UsageError);
        stderr.Should().Contain("policy.json:1:").And.Contain("default").And.Contain("maybe");
    }

    [TestCase("--tool-list-timeout", "0")]
    [TestCase("--tool-list-timeout", "-1")]
    [TestCase("--tool-list-timeout", "86401")]
    [TestCase("--approval-timeout", "0")]
    public async Task TimeoutOption_NotAPositiveNumberOfSecondsUpToADay_ExitsWithTwoAndNamesTheOption(string option, string value)
    {
        var (exitCode, stderr) = await RunToExitAsync("--policy", _policy, option, value, "--", "/bin/sh", "-c", "exit 0");

        exitCode.Should().Be(ProxyCommand.UsageError);
        stderr.Should().StartWith($"policylayer proxy: {option} must be a positive number of seconds");
    }

    [Test]
    public async Task ToolListTimeout_ServerThatNeverListsItsTools_CallIsRefusedOnceThatTimeHasPassed()
    {
        using var proxy = StartProxy("--policy", _policy, "--tool-list-timeout", "0.5", "--", "/bin/sh", WriteServer(listsTools: false));
        try
        {
            await InitializeAsync(proxy);

            var sent = Stopwatch.StartNew();
            var answer = await CallAsync(proxy, 1, "echo");
            sent.Stop();

            answer.Should().Contain("[POLICY DENIED]").And.Contain("\"kind\":\"error\"");
            sent.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(0.45));
            await EndAsync(proxy);
            (await proxy.StandardError.ReadToEndAsync()).Should().Contain("did not answer the proxy's tools/list within 0.5 s");
        }
        finally
        {
            KillQuietly(proxy);
        }
    }

    [Test]
    public async Task Shadow_WithoutAnAuditLog_ExitsWithTwo()
    {
        var (exitCode, stderr) = await RunToExitAsync("--policy", _policy, "--shadow", "--", "/bin/sh", "-c", "exit 0");

        exitCode.Should().Be(ProxyCommand.UsageError);
        stderr.Should().Contain("--shadow needs --audit-log");
    }

    [Test]
    public async Task Shadow_CallThePolicyDenies_ReachesTheServerAndTheAuditLogSaysShadowed()
    {
        File.WriteAllText(_policy, """{ "version": "1", "default": "deny" }""");
        var audit = Path.Combine(_work, "audit.jsonl");
        using var proxy = StartProxy("--policy", _policy, "--shadow", "--audit-log", audit, "--", "/bin/sh", WriteServer(listsTools: true));
        try
        {
            var stderr = proxy.StandardError.ReadToEndAsync();
            await InitializeAsync(proxy);

            var answer = await CallAsync(proxy, 1, "echo");
            await EndAsync(proxy);

            answer.Should().Contain("ran echo").And.NotContain("POLICY DENIED");
            File.ReadAllText(audit).Should().Contain("\"outcome\":\"deny\",\"kind\":\"denied\",\"shadowed\":true").And.Contain("\"rule\":\"(default)\"");
            (await stderr).Should().Contain("policylayer proxy: shadow mode: nothing is refused");
        }
        finally
        {
            KillQuietly(proxy);
        }
    }

    [Test]
    public async Task WatchInterval_WithoutWatch_ExitsWithTwo()
    {
        var (exitCode, stderr) = await RunToExitAsync("--policy", _policy, "--watch-interval", "5", "--", "/bin/sh", "-c", "exit 0");

        exitCode.Should().Be(ProxyCommand.UsageError);
        stderr.Should().Contain("policylayer proxy: --watch-interval needs --watch.");
    }

    [TestCase("0")]
    [TestCase("-0.5")]
    public async Task WatchInterval_NotPositive_ExitsWithTwo(string value)
    {
        var (exitCode, stderr) = await RunToExitAsync("--policy", _policy, "--watch", "--watch-interval", value, "--", "/bin/sh", "-c", "exit 0");

        exitCode.Should().Be(ProxyCommand.UsageError);
        stderr.Should().StartWith("policylayer proxy: --watch-interval must be a positive number of seconds");
    }

    [Test]
    public async Task Watch_PolicyFileRewritten_TheNewVersionDecidesTheNextCalls()
    {
        File.WriteAllText(_policy, """{ "version": "1", "default": "deny" }""");
        using var proxy = StartProxy("--policy", _policy, "--watch", "--watch-interval", "0.05", "--", "/bin/sh", WriteServer(listsTools: true));
        try
        {
            var stderr = proxy.StandardError.ReadToEndAsync();
            await InitializeAsync(proxy);
            (await CallAsync(proxy, 1, "echo")).Should().Contain("[POLICY DENIED]");

            File.WriteAllText(_policy, """{ "version": "1", "default": "allow" }""");
            var answer = "";
            for (var id = 2; id < 100 && !answer.Contains("ran echo", StringComparison.Ordinal); id++)
            {
                // Real time here: the new version lands one to two intervals after the write.
                await Task.Delay(25);
                answer = await CallAsync(proxy, id, "echo");
            }

            await EndAsync(proxy);
            answer.Should().Contain("ran echo");
            (await stderr).Should().Contain($"policylayer proxy: Policy file {_policy} reloaded: the new version (revision ");
        }
        finally
        {
            KillQuietly(proxy);
        }
    }

    /// <summary>
    /// Writes a stdio MCP server in sh: it answers initialize, tools/call (with "ran NAME"), and tools/list with one tool,
    /// <c>echo</c>, unless <paramref name="listsTools"/> is false (then the proxy's own tools/list gets no answer).
    /// </summary>
    private string WriteServer(bool listsTools)
    {
        var server = Path.Combine(_work, "server.sh");
        var list = listsTools
            ? """
                *'"tools/list"'*) printf '{"jsonrpc":"2.0","id":%s,"result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}}\n' "$id" ;;
              """
            : "";
        File.WriteAllText(server, $$$$"""
            while IFS= read -r line; do
              id=$(printf '%s' "$line" | sed -nE 's/.*"id":("[^"]*"|-?[0-9]+).*/\1/p')
              case "$line" in
                *'"initialize"'*) printf '{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"sh","version":"1"}}}\n' "$id" ;;
                {{{{list}}}}
                *'"tools/call"'*) printf '{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"ran %s"}]}}\n' "$id" "$(printf '%s' "$line" | sed -nE 's/.*"name":"([^"]*)".*/\1/p')" ;;
              esac
            done
            """);
        return server;
    }

    /// <summary>Sends initialize and returns the server's answer, relayed.</summary>
    private static async Task<string> InitializeAsync(Process proxy)
    {
        proxy.StandardInput.WriteLine("""{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""");
        proxy.StandardInput.Flush();
        var answer = await proxy.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        answer.Should().Contain("\"serverInfo\"");
        return answer!;
    }

    /// <summary>Sends a tools/call and returns the next line the client gets.</summary>
    private static async Task<string> CallAsync(Process proxy, int id, string tool)
    {
        proxy.StandardInput.WriteLine($$$"""{"jsonrpc":"2.0","id":{{{id}}},"method":"tools/call","params":{"name":"{{{tool}}}","arguments":""" + "{}}}");
        proxy.StandardInput.Flush();
        return (await proxy.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)))!;
    }

    /// <summary>Closes the proxy's input and waits for it to exit.</summary>
    private static async Task EndAsync(Process proxy)
    {
        proxy.StandardInput.Close();
        await proxy.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Test]
    public async Task Server_StartsWhileThePolicyLoads_AndReceivesNothingUntilThePolicyIsInForce()
    {
        // A policy that never comes into force: the server must have been started (in parallel with loading it) and
        // must have received nothing, although the client wrote a call at once.
        File.WriteAllText(_policy, """{ "version": "1", "default": "maybe" }""");
        var started = Path.Combine(_work, "started");
        var received = Path.Combine(_work, "received");
        using var proxy = StartProxy("--policy", _policy, "--", "/bin/sh", "-c", $"echo up > '{started}'; cat > '{received}'");
        var stderr = proxy.StandardError.ReadToEndAsync();
        await proxy.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"anything"}}""");
        await proxy.StandardInput.FlushAsync();

        await proxy.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await WaitForAsync(() => File.Exists(received));

        proxy.ExitCode.Should().Be(ProxyCommand.UsageError);
        (await stderr).Should().Contain("maybe");
        File.Exists(started).Should().BeTrue("the server starts at once, not after the policy is loaded");
        File.ReadAllText(received).Should().BeEmpty("nothing reaches the server before the policy is in force");
    }

    [Test]
    public async Task CommandThatCannotStart_ExitsWith127()
    {
        using var proxy = StartProxy("--policy", _policy, "--", Path.Combine(_work, "no-such-server"));

        await proxy.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));

        proxy.ExitCode.Should().Be(ProxyCommand.CannotStart);
    }

    private static Process StartProxy(params string[] arguments) => StartProxy(redirectOutput: true, resetSigInt: false, arguments);

    /// <summary>Runs the proxy until it exits by itself (within 30 s); returns its exit code and its standard error.</summary>
    private static async Task<(int ExitCode, string Stderr)> RunToExitAsync(params string[] arguments)
    {
        using var proxy = StartProxy(arguments);
        var stderr = proxy.StandardError.ReadToEndAsync();
        await proxy.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (proxy.ExitCode, await stderr);
    }

    private static Process StartProxy(bool redirectOutput, params string[] arguments) => StartProxy(redirectOutput, resetSigInt: false, arguments);

    /// <summary>
    /// Starts the proxy; without <paramref name="redirectOutput"/> its output goes to the test's, so that waiting for its exit never
    /// waits for a pipe a child still holds. With <paramref name="resetSigInt"/> it starts through `env --default-signal=INT`.
    /// </summary>
    private static Process StartProxy(bool redirectOutput, bool resetSigInt, params string[] arguments)
    {
        var start = new ProcessStartInfo(resetSigInt ? "env" : Policylayer.Program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = redirectOutput,
            RedirectStandardError = redirectOutput,
            UseShellExecute = false,
        };
        if (resetSigInt)
        {
            start.ArgumentList.Add("--default-signal=INT");
            start.ArgumentList.Add(Policylayer.Program);
        }

        foreach (var argument in Policylayer.ProgramArguments.Append("proxy").Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        // Real processes: poll briefly, bounded, rather than sleep a fixed time.
        for (var i = 0; i < 300 && !condition(); i++)
        {
            await Task.Delay(50);
        }
    }

    /// <summary>Whether <paramref name="pid"/> runs: it has a /proc entry and is not a zombie waiting to be reaped.</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].TrimStart()[0];
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void Kill(int pid, int signal)
    {
        using var kill = Process.Start("/bin/sh", ["-c", $"kill -{signal} {pid}"]);
        kill.WaitForExit();
    }

    private static bool SigIntIsIgnoredHere()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << 1)) != 0;
    }

    private static void KillQuietly(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }
}
