using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using PolicyLayer.Cli.Common;
using PolicyLayer.Gateway;

namespace PolicyLayer.Cli.Proxy;

/// <summary>
/// `policylayer proxy --policy POLICY [--grant G] [--audit-log FILE] [--watch] [--shadow] ... -- CMD ARGS...`: the stdio gateway.
/// </summary>
internal static partial class ProxyCommand
{
    /// <summary>
    /// Exit code when the options or the policy are wrong (the tool's usage code: a policy that does not load exits
    /// 2 here, not 1 as in <c>validate</c>, because 1 is what a failing server most often exits with).
    /// </summary>
    public const int UsageError = ExitCodes.UsageOrIo;

    /// <summary>Exit code when the server's command cannot be started.</summary>
    public const int CannotStart = 127;

    /// <summary>The longest wait any option of the proxy accepts: one day, well within what a timer can wait (49 days).</summary>
    private const double MaxSeconds = 86_400;

    /// <summary>How long the server has to exit after its input is closed before it is killed.</summary>
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// The same after SIGINT/SIGTERM: short, because System.CommandLine ends the process 2 s after the signal.
    /// </summary>
    private static readonly TimeSpan SignalGrace = TimeSpan.FromSeconds(0.5);

    public static Command Create()
    {
        var policy = new Option<FileInfo>("--policy") { Description = "The policy file to enforce.", Required = true };
        var grant = new Option<string?>("--grant") { Description = "The grant (credential id) the session's calls count under; default: the environment variable POLICYLAYER_GRANT." };
        var auditLog = new Option<FileInfo?>("--audit-log") { Description = "Append one JSON line per decision to this file (docs/audit.schema.json: tool, outcome, rule, caller, budgets, argument names; values only with --audit-arguments)." };
        var auditArguments = new Option<bool>("--audit-arguments")
        {
            Description = "With --audit-log: also record argument values (they may hold secrets: redact with --audit-redact), so that `policylayer replay` can decide the calls again.",
        };
        var auditRedact = new Option<string[]>("--audit-redact")
        {
            Description = "With --audit-arguments: an argument whose value is recorded as \"[redacted]\": a name, a dotted path (card.number) or *.name at any depth. Repeatable, or comma-separated.",
            AllowMultipleArgumentsPerToken = false,
        };
        var maxMessage = new Option<int>("--max-message-bytes")
        {
            Description = "The longest message the client may send, in bytes; longer ones are refused.",
            DefaultValueFactory = _ => McpGatewayOptions.DefaultMaxMessageBytes,
        };
        var approvalTimeout = new Option<double>("--approval-timeout")
        {
            Description = "Seconds the person at the client has to answer an approval request.",
            DefaultValueFactory = _ => 120,
        };
        var toolListTimeout = new Option<double>("--tool-list-timeout")
        {
            Description = "Seconds the server has to answer the proxy's own tools/list (read before the first call); calls are refused when it does not.",
            DefaultValueFactory = _ => McpGatewayOptions.DefaultToolListTimeout.TotalSeconds,
        };
        var shadow = new Option<bool>("--shadow")
        {
            Description = "Shadow mode: decide, count and audit every call, but refuse nothing; tools/list is not filtered and nobody is asked for approvals. Needs --audit-log.",
        };
        var watch = new Option<bool>("--watch")
        {
            Description = "Reload the policy file when it changes: a valid new version decides the next call; an invalid one is refused with its errors on stderr, a half-written one is not read, and the last good version stays.",
        };
        var maxHeld = new Option<int>("--max-held-approvals")
        {
            Description = "How many calls the session may hold waiting for approval at once; the next one is refused.",
            DefaultValueFactory = _ => new McpGatewayOptions().MaxHeldApprovals,
        };
        var maxHeldBytes = new Option<int>("--max-held-approval-bytes")
        {
            Description = "How many bytes of calls (their messages) the session may hold waiting for approval; past it, calls are refused.",
            DefaultValueFactory = _ => new McpGatewayOptions().MaxHeldApprovalBytes,
        };
        var watchInterval = new Option<double>("--watch-interval")
        {
            Description = "With --watch: seconds between looks at the policy file; a change lands one to two intervals after it is written.",
            DefaultValueFactory = _ => ProxyPolicyWatch.DefaultInterval.TotalSeconds,
        };
        var command = new Argument<string[]>("command")
        {
            Description = "The MCP server to start: its command and arguments, after the proxy's options (a -- before it is optional); passed on verbatim.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var http = new HttpOptions();

        var proxy = new Command("proxy", """
            Start an MCP server over stdio and enforce the policy on every tools/call and tools/list between it and
            the client. --watch reloads the policy file when it changes; --shadow decides and audits but refuses nothing.
            Exit codes: the server's own once it exits (137 when it had to be killed); 2 bad options or a policy that
            does not load; 127 the server's command cannot be started.
            """)
        {
            policy, grant, auditLog, auditArguments, auditRedact, maxMessage, approvalTimeout, toolListTimeout, maxHeld, maxHeldBytes, shadow, watch, watchInterval, command,
        };
        http.AddTo(proxy);

        proxy.SetAction((result, cancellationToken) => RunAsync(
            new ProxySettings(
                result.GetValue(policy)!,
                result.GetValue(grant) ?? NullIfEmpty(Environment.GetEnvironmentVariable("POLICYLAYER_GRANT")),
                result.GetValue(auditLog),
                result.GetValue(auditArguments),
                [.. (result.GetValue(auditRedact) ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
                result.GetValue(maxMessage),
                result.GetValue(approvalTimeout),
                result.GetValue(toolListTimeout),
                result.GetValue(maxHeld),
                result.GetValue(maxHeldBytes),
                result.GetValue(shadow),
                result.GetValue(watch),
                result.GetValue(watchInterval),
                result.GetResult(watchInterval) is { Implicit: false },
                result.GetValue(command)!,
                http.Read(result)),
            cancellationToken));
        return proxy;
    }

    /// <summary>
    /// The runtime's switch that runs the continuation of an asynchronous pipe read on the thread that saw the data, not
    /// after a hop through the thread pool. The relay's two loops are all this process does, so the hop is pure
    /// latency (measured in docs/benchmarks.md); read when the first pipe is opened, so set before that.
    /// </summary>
    private const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    private static async Task<int> RunAsync(ProxySettings settings, CancellationToken cancellationToken)
    {
#if POLICYLAYER_STDIO_ONLY
        if (settings.Http.NeedsHttpFront)
        {
            // This build has no web host: the build that has one takes over the process, with the same command line.
            return await HttpBuild.ExecAsync(Console.Error).ConfigureAwait(false);
        }

#endif
        var inheritedInlineCompletions = Environment.GetEnvironmentVariable(InlineCompletions);
        if (inheritedInlineCompletions is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletions, "1");
        }

        var error = Console.Error;
        if (settings.MaxMessageBytes < 1024)
        {
            await error.WriteLineAsync("policylayer proxy: --max-message-bytes must be at least 1024.").ConfigureAwait(false);
            return UsageError;
        }

        if ((SecondsProblem("--approval-timeout", settings.ApprovalTimeoutSeconds) ?? SecondsProblem("--tool-list-timeout", settings.ToolListTimeoutSeconds)) is { } badOption)
        {
            await error.WriteLineAsync("policylayer proxy: " + badOption).ConfigureAwait(false);
            return UsageError;
        }

        if (settings.MaxHeldApprovals < 0 || settings.MaxHeldApprovalBytes < 0)
        {
            await error.WriteLineAsync("policylayer proxy: --max-held-approvals and --max-held-approval-bytes must be 0 or more.").ConfigureAwait(false);
            return UsageError;
        }

        if (settings.WatchIntervalGiven && !settings.Watch)
        {
            await error.WriteLineAsync("policylayer proxy: --watch-interval needs --watch.").ConfigureAwait(false);
            return UsageError;
        }

        if (SecondsProblem("--watch-interval", settings.WatchIntervalSeconds) is { } badInterval)
        {
            await error.WriteLineAsync("policylayer proxy: " + badInterval).ConfigureAwait(false);
            return UsageError;
        }

        if ((settings.AuditArguments || settings.AuditRedact.Length > 0) && settings.AuditLog is null)
        {
            await error.WriteLineAsync("policylayer proxy: --audit-arguments and --audit-redact need --audit-log.").ConfigureAwait(false);
            return UsageError;
        }

        if (settings.AuditRedact.Length > 0 && !settings.AuditArguments)
        {
            await error.WriteLineAsync("policylayer proxy: --audit-redact needs --audit-arguments: without it no argument value is recorded.").ConfigureAwait(false);
            return UsageError;
        }

        if (settings.Shadow && settings.AuditLog is null)
        {
            await error.WriteLineAsync("policylayer proxy: --shadow needs --audit-log: shadow mode refuses nothing, so the audit log is where its decisions go.").ConfigureAwait(false);
            return UsageError;
        }

        if (HttpProblem(settings.Http, settings.Command, out var upstream, out var listen) is { } httpProblem)
        {
            await error.WriteLineAsync("policylayer proxy: " + httpProblem).ConfigureAwait(false);
            return UsageError;
        }

#if !POLICYLAYER_STDIO_ONLY
        if (settings.Http.UsesHttp)
        {
            return await RunHttpAsync(settings, upstream!, listen, error, cancellationToken).ConfigureAwait(false);
        }

#endif

        // The server starts at once, in parallel with loading the policy (MCP clients start their servers at every
        // launch, so the two start-ups should overlap, not add up). Nothing reaches it before the policy is in force:
        // the client's input is read only by the gateway session, which exists once the evaluator does.
        using var child = new Process
        {
            StartInfo = StartInfo(settings.Command),
        };
        if (inheritedInlineCompletions is null)
        {
            // The proxy's own setting: the server runs with the environment the proxy was given.
            child.StartInfo.Environment.Remove(InlineCompletions);
        }

        // SIGINT/SIGTERM end the child from a thread of its own, so that nothing waits on the thread that delivers
        // signals. The handlers are in place before the child starts: a signal can never leave it behind.
        var stopping = 0;
        McpGatewaySession? session = null;
        void OnSignal(PosixSignalContext context)
        {
            // The proxy ends when the child has ended; the signal's default action would leave the child running.
            context.Cancel = true;
            if (Interlocked.Exchange(ref stopping, 1) == 0)
            {
                new Thread(() => EndChild(Volatile.Read(ref session), child)) { IsBackground = true, Name = "policylayer shutdown" }.Start();
            }
        }

        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        // Whatever else ends this process ends the child with it.
        EventHandler killChild = (_, _) => KillQuietly(child);
        AppDomain.CurrentDomain.ProcessExit += killChild;
        try
        {
            // The policy loads on another thread while this one starts the server: starting a process and loading a
            // policy (whose first hash loads OpenSSL) each take milliseconds, and with a free core they overlap.
            var loading = Task.Run(() => LoadPolicyAsync(settings, error), CancellationToken.None);
            string? cannotStart = null;
            try
            {
                child.Start();
            }
            catch (Win32Exception ex)
            {
                cannotStart = $"policylayer proxy: cannot start '{settings.Command[0]}': {ex.Message}";
            }

            var (document, watch, policyProblem) = await loading.ConfigureAwait(false);
            if (policyProblem is not null || cannotStart is not null)
            {
                // A policy that does not load is reported first: it is the proxy's own problem, and the server never ran under it.
                watch?.Dispose();
                if (cannotStart is null)
                {
                    CloseQuietly(child);
                    await StopAsync(child, SignalGrace).ConfigureAwait(false);
                    return UsageError;
                }

                if (policyProblem is not null)
                {
                    return UsageError;
                }

                await error.WriteLineAsync(cannotStart).ConfigureAwait(false);
                return CannotStart;
            }

            return await RunSessionAsync(settings, document!, watch, child, error, s => Volatile.Write(ref session, s), () => Volatile.Read(ref stopping) == 1, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            AppDomain.CurrentDomain.ProcessExit -= killChild;
        }
    }

    /// <summary>Loads the policy (and starts watching it with --watch); on failure, writes why to <paramref name="error"/>.</summary>
    private static async Task<(PolicyDocument? Document, ProxyPolicyWatch? Watch, string? Problem)> LoadPolicyAsync(ProxySettings settings, TextWriter error)
    {
        try
        {
            if (settings.Watch)
            {
                var watch = new ProxyPolicyWatch(settings.Policy.FullName, TimeSpan.FromSeconds(settings.WatchIntervalSeconds), TimeProvider.System, error);
                return (watch.Initial, watch, null);
            }

            return (PolicyDocument.Load(settings.Policy.FullName), null, null);
        }
        catch (PolicyValidationException ex)
        {
            foreach (var problem in ex.Errors)
            {
                await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{settings.Policy}:{problem.Line}:{problem.Column}: {problem.Path}: {problem.Message}")).ConfigureAwait(false);
            }

            return (null, null, "invalid");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"policylayer proxy: cannot read the policy: {ex.Message}").ConfigureAwait(false);
            return (null, null, "unreadable");
        }
    }

    private static async Task<int> RunSessionAsync(
        ProxySettings settings,
        PolicyDocument document,
        ProxyPolicyWatch? watch,
        Process child,
        TextWriter error,
        Action<McpGatewaySession> started,
        Func<bool> stopping,
        CancellationToken cancellationToken)
    {
        var (audit, auditOpened) = await OpenAuditLogAsync(settings, error).ConfigureAwait(false);
        if (!auditOpened)
        {
            watch?.Dispose();
            CloseQuietly(child);
            await StopAsync(child, SignalGrace).ConfigureAwait(false);
            return UsageError;
        }

        try
        {
            var (inboxHost, inbox, approvalsStarted) = await StartApprovalsAsync(settings, error).ConfigureAwait(false);
            if (!approvalsStarted)
            {
                watch?.Dispose();
                CloseQuietly(child);
                await StopAsync(child, SignalGrace).ConfigureAwait(false);
                return UsageError;
            }

            await using var approvalsHost = inboxHost;
            using var evaluator = Evaluator(settings, document);

            var gatewayOptions = SessionOptions(settings, audit, inbox);
            using var session = new McpGatewaySession(
                evaluator,
                gatewayOptions,
                new StderrLogger(error));
            started(session);

            // Declared after the evaluator and the session, the watcher stops before either is disposed.
            using var reloads = watch;

            // From here on each valid new version of the file is put in force, and the client told if its tool list changed.
            watch?.Attach(evaluator, session.OnPolicyReloaded);

            if (settings.Shadow)
            {
                await error.WriteLineAsync($"policylayer proxy: shadow mode: nothing is refused; decisions go to {settings.AuditLog}.").ConfigureAwait(false);
            }

            if (stopping())
            {
                // A signal arrived while the child was starting.
                EndChild(session, child);
            }

            // The child's stderr is inherited: it reaches the proxy's stderr unchanged.
            // The child's output is read in place on the relay's own thread, as a byte relay reads it: an answer then goes
            // from the pipe to the client on one thread, where the sockets engine's poll thread would hand it to the
            // thread pool (docs/benchmarks.md, "The stdio proxy against a byte relay, session 5").
            var relay = await RelayStdioClientAsync(
                session, McpMessageChannels.StdioReadInPlace(new InlineStream(child.StandardOutput.BaseStream), child.StandardInput.BaseStream), settings, error, "stopping the server.", cancellationToken).ConfigureAwait(false);

            // Closing the child's input is MCP's stdio shutdown; its last answers are still relayed while it exits,
            // and a child that does not exit within the grace period is killed.
            await session.CloseServerInputAsync().ConfigureAwait(false);
            var exitCode = await StopAsync(child, cancellationToken.IsCancellationRequested ? SignalGrace : ShutdownGrace).ConfigureAwait(false);
            try
            {
                // The child has ended: let the relay pass on what it wrote last.
                await relay.WaitAsync(ShutdownGrace, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // A grandchild may hold the child's output open; the proxy ends regardless.
            }

            return exitCode;
        }
        finally
        {
            if (audit is not null)
            {
                await audit.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The gateway options the proxy's settings make, for a stdio session or as every HTTP session's template.</summary>
    private static McpGatewayOptions SessionOptions(ProxySettings settings, TextWriter? audit, ApprovalInbox? inbox = null)
    {
        var options = new McpGatewayOptions
        {
            GrantId = settings.Grant,
            MaxMessageBytes = settings.MaxMessageBytes,
            ApprovalTimeout = TimeSpan.FromSeconds(settings.ApprovalTimeoutSeconds),
            ToolListTimeout = TimeSpan.FromSeconds(settings.ToolListTimeoutSeconds),
            MaxHeldApprovals = settings.MaxHeldApprovals,
            MaxHeldApprovalBytes = settings.MaxHeldApprovalBytes,
            AuditLog = audit,
            AuditArgumentValues = settings.AuditArguments,
            AnnounceToolListChanges = settings.Watch,
            ApprovalInbox = inbox,
        };
        foreach (var path in settings.AuditRedact)
        {
            options.AuditRedactedArguments.Add(path);
        }

        return options;
    }

    /// <summary>Closes the child's input, if it has one yet.</summary>
    private static void CloseQuietly(Process child)
    {
        try
        {
            child.StandardInput.Close();
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException)
        {
            // Not started, or already gone.
        }
    }

    /// <summary>Closes the child's input (MCP's stdio shutdown) and kills it if it has not exited within <see cref="SignalGrace"/>.</summary>
    private static void EndChild(McpGatewaySession? session, Process child)
    {
        if (session is null)
        {
            CloseQuietly(child);
        }
        else
        {
            session.Dispose();
        }

        try
        {
            if (!child.WaitForExit(SignalGrace))
            {
                KillQuietly(child);
            }
        }
        catch (InvalidOperationException)
        {
            // Not started yet: the code after Start ends it.
        }
    }

    /// <summary>Waits briefly for the child to exit by itself (its input is closed by then), else kills it; returns its exit code.</summary>
    private static async Task<int> StopAsync(Process child, TimeSpan gracePeriod)
    {
        try
        {
            using var grace = new CancellationTokenSource(gracePeriod);
            await child.WaitForExitAsync(grace.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            KillQuietly(child);
            using var killed = new CancellationTokenSource(ShutdownGrace);
            try
            {
                await child.WaitForExitAsync(killed.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Killed but not yet reaped: report it as killed.
                return 128 + 9;
            }
        }

        return child.ExitCode;
    }

    private static void KillQuietly(Process child)
    {
        try
        {
            if (!child.HasExited)
            {
                child.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // Already gone, or never started.
        }
    }

    private static ProcessStartInfo StartInfo(string[] command)
    {
        var info = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
        };

        foreach (var argument in command.AsSpan(1))
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }

    /// <summary>
    /// What is wrong with a number of seconds given for <paramref name="option"/>, or <see langword="null"/>. The upper
    /// bound is what a timer can wait (a longer one would fail when it is set, in the middle of a session, not here).
    /// </summary>
    internal static string? SecondsProblem(string option, double seconds) =>
        seconds > 0 && seconds <= MaxSeconds
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{option} must be a positive number of seconds, at most {MaxSeconds} (one day); got {seconds}.");

    /// <summary>
    /// The proxy's evaluator: the policy, shadow mode, the system clock and an in-memory counter store the evaluator
    /// owns. Built directly rather than through <c>AddPolicyLayer</c>: its options pipeline makes generic types at run
    /// time, which in the native binary costs milliseconds of every start (docs/benchmarks.md, "Start-up, session 4").
    /// </summary>
    private static PolicyEvaluator Evaluator(ProxySettings settings, PolicyDocument document) =>
        new(document, new PolicyEvaluatorOptions { ShadowMode = settings.Shadow });

    /// <summary>
    /// Relays between the proxy's own stdin/stdout (the client) and <paramref name="server"/> until the server's side
    /// ends, the client stops reading or closes its input, or SIGINT/SIGTERM arrives (System.CommandLine cancels the
    /// token; then "policylayer proxy: <paramref name="stopping"/>" goes to stderr). Returns the relay, still running
    /// while the server's last answers come back.
    /// </summary>
    private static async Task<Task> RelayStdioClientAsync(
        McpGatewaySession session, IMcpMessageChannel server, ProxySettings settings, TextWriter error, string stopping, CancellationToken cancellationToken)
    {
        var relay = session.RunAsync(
            McpMessageChannels.StdioReadInPlace(new InlineStream(Console.OpenStandardInput()), new InlineStream(Console.OpenStandardOutput()), settings.MaxMessageBytes), server, cancellationToken);
        try
        {
            await Task.WhenAny(relay, session.ClientInputEnded).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("policylayer proxy: " + stopping).ConfigureAwait(false);
        }

        return relay;
    }

    /// <summary>
    /// Opens <c>--audit-log</c> for appending (readers such as <c>policylayer audit</c> may read it meanwhile); no writer
    /// when none was asked for. <c>Opened</c> is false, with the reason on <paramref name="error"/>, when it cannot be opened.
    /// </summary>
    private static async Task<(StreamWriter? Audit, bool Opened)> OpenAuditLogAsync(ProxySettings settings, TextWriter error)
    {
        if (settings.AuditLog is not { } auditFile)
        {
            return (null, true);
        }

        try
        {
            return (new StreamWriter(new FileStream(auditFile.FullName, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)), true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"policylayer proxy: cannot open the audit log: {ex.Message}").ConfigureAwait(false);
            return (null, false);
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private sealed record ProxySettings(
        FileInfo Policy,
        string? Grant,
        FileInfo? AuditLog,
        bool AuditArguments,
        string[] AuditRedact,
        int MaxMessageBytes,
        double ApprovalTimeoutSeconds,
        double ToolListTimeoutSeconds,
        int MaxHeldApprovals,
        int MaxHeldApprovalBytes,
        bool Shadow,
        bool Watch,
        double WatchIntervalSeconds,
        bool WatchIntervalGiven,
        string[] Command,
        HttpSettings Http);
}
