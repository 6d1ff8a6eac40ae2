using System.IO.Pipes;
using FluentAssertions;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using PolicyLayer.Gateway;

namespace PolicyLayer.TestUtils.Gateway;

/// <summary>
/// A gateway between a test (the client) and a <see cref="FakeChild"/>, connected by OS pipes, with no processes.
/// The clock is fake: time-outs happen only when a test moves it.
/// </summary>
public sealed class GatewayHarness : IGatewayTestClient
{
    /// <summary>A safety net for a test that waits for a line that never comes; time-outs under test use the fake clock.</summary>
    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(10);

    public const string SessionId = "test-session";

    /// <summary>How often a watched policy file is polled, on the fake clock.</summary>
    public static readonly TimeSpan WatchInterval = TimeSpan.FromSeconds(1);

    /// <summary>The policy of most tests.</summary>
    public const string Policy = """
        {
          "version": "1",
          "default": "deny",
          "hide": ["secret_tool"],
          "tools": {
            "echo": {},
            "write_note": { "action": "deny", "reason": "No notes." },
            "limited": { "limits": [ { "counter": "limited", "window": "minute", "max": 1, "scope": "session" } ] },
            "approve_me": { "action": "require_approval", "reason": "Needs a person." },
            "approve_limited": { "action": "require_approval", "limits": [ { "counter": "al", "window": "minute", "max": 1, "scope": "session" } ] },
            "agent_limited": { "limits": [ { "counter": "ag", "window": "minute", "max": 5, "scope": "agent" } ] },
            "grant_limited": { "limits": [ { "counter": "gr", "window": "minute", "max": 5, "scope": "grant" } ] }
          },
          "risk": {
            "read": { "action": "allow" },
            "destructive": { "action": "deny", "reason": "Destructive tools are refused." }
          }
        }
        """;

    /// <summary>The tools the fake child lists.</summary>
    public static readonly string[] DefaultTools =
    [
        """{"name":"echo","description":"Echo the input.","annotations":{"readOnlyHint":true},"inputSchema":{"type":"object"}}""",
        """{"name":"write_note","description":"Write a note.","inputSchema":{"type":"object"}}""",
        """{"name":"limited","inputSchema":{"type":"object"}}""",
        """{"name":"approve_me","inputSchema":{"type":"object"}}""",
        """{"name":"approve_limited","inputSchema":{"type":"object"}}""",
        """{"name":"agent_limited","inputSchema":{"type":"object"}}""",
        """{"name":"grant_limited","inputSchema":{"type":"object"}}""",
        """{"name":"secret_tool","inputSchema":{"type":"object"}}""",
        """{"name":"tidy_up","description":"Tidies the workspace.","annotations":{"readOnlyHint":false,"destructiveHint":true},"inputSchema":{"type":"object"}}""",
    ];

    private readonly AnonymousPipeServerStream _clientWrites = new(PipeDirection.Out);
    private readonly AnonymousPipeServerStream _clientReads = new(PipeDirection.In);
    private readonly AnonymousPipeServerStream _childWrites = new(PipeDirection.Out);
    private readonly AnonymousPipeServerStream _childReads = new(PipeDirection.In);
    private readonly StreamReader _fromGateway;
    private readonly PolicyEvaluator _evaluator;

    /// <param name="policy">The policy's text.</param>
    /// <param name="configure">Changes the gateway's options.</param>
    /// <param name="tools">The tools the child lists; <see cref="DefaultTools"/> when <see langword="null"/>.</param>
    /// <param name="shadow">Shadow mode, for the evaluator and the gateway both, as <c>--shadow</c> sets it.</param>
    /// <param name="watch">
    /// Starts watching a policy file as <c>--watch</c> does (then <paramref name="policy"/> is not used): given the fake clock
    /// and the diagnostics writer, returns the watched file's first version and a way to attach the evaluator (with the
    /// reload callback); the returned object is disposed with the harness.
    /// </param>
    /// <param name="readInPlace">
    /// Reads both peers in place, blocking the reading thread, as the proxy reads its console and its child's output
    /// (<see cref="McpMessageChannels.StdioReadInPlace"/>); the streams read are <see cref="FromClient"/> and <see cref="FromChild"/>.
    /// </param>
    public GatewayHarness(string policy = Policy, Action<McpGatewayOptions>? configure = null, string[]? tools = null, bool shadow = false, Func<TimeProvider, TextWriter, PolicyWatch>? watch = null, bool readInPlace = false)
    {
        Time = new TimerCountingTimeProvider(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
        var diagnostics = TextWriter.Synchronized(Diagnostics);
        Watch = watch?.Invoke(Time, diagnostics);
        _evaluator = new PolicyEvaluator(Watch?.Initial ?? PolicyDocument.Parse(policy), new PolicyEvaluatorOptions { TimeProvider = Time, ShadowMode = shadow });
        Options = new McpGatewayOptions
        {
            TimeProvider = Time,
            SessionId = SessionId,
            AuditLog = Audit,
            AnnounceToolListChanges = watch is not null,
        };
        configure?.Invoke(Options);
        Gateway = new McpGatewaySession(_evaluator, Options, new WriterLogger(diagnostics));
        Watch?.Attach(_evaluator, Gateway.OnPolicyReloaded);

        // Each pair: a server end the test or the fake child holds, a client end the gateway holds.
        var gatewayFromClient = new AnonymousPipeClientStream(PipeDirection.In, _clientWrites.ClientSafePipeHandle);
        var gatewayToClient = new AnonymousPipeClientStream(PipeDirection.Out, _clientReads.ClientSafePipeHandle);
        var gatewayToChild = new AnonymousPipeClientStream(PipeDirection.Out, _childReads.ClientSafePipeHandle);
        var gatewayFromChild = new AnonymousPipeClientStream(PipeDirection.In, _childWrites.ClientSafePipeHandle);

        Child = new FakeChild(_childReads, _childWrites) { Tools = tools ?? DefaultTools };
        _fromGateway = new StreamReader(_clientReads, new UTF8Encoding(false));
        if (readInPlace)
        {
            FromClient = new InPlaceReadStream(gatewayFromClient);
            FromChild = new InPlaceReadStream(gatewayFromChild);
            Run = Gateway.RunAsync(
                McpMessageChannels.StdioReadInPlace(FromClient, new InPlaceReadStream(gatewayToClient), Options.MaxMessageBytes),
                McpMessageChannels.StdioReadInPlace(FromChild, gatewayToChild));
        }
        else
        {
            Run = Gateway.RunAsync(
                McpMessageChannels.Stdio(gatewayFromClient, gatewayToClient, Options.MaxMessageBytes),
                McpMessageChannels.Stdio(gatewayFromChild, gatewayToChild));
        }
    }

    /// <summary>With <c>readInPlace</c>, what the gateway reads from the client; otherwise <see langword="null"/>.</summary>
    public InPlaceReadStream? FromClient { get; }

    /// <summary>With <c>readInPlace</c>, what the gateway reads from the child; otherwise <see langword="null"/>.</summary>
    public InPlaceReadStream? FromChild { get; }

    public TimerCountingTimeProvider Time { get; }

    public McpGatewayOptions Options { get; }

    public McpGatewaySession Gateway { get; }

    public FakeChild Child { get; }

    public StringWriter Audit { get; } = new();

    /// <summary>What the gateway logs and the watch reports, one <c>policylayer proxy:</c> line per event.</summary>
    public StringWriter Diagnostics { get; } = new();

    /// <summary>The watch of the policy file, if any.</summary>
    public PolicyWatch? Watch { get; }

    /// <summary>The audit log's lines so far, parsed.</summary>
    public IReadOnlyList<JsonElement> AuditLines =>
        Audit.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    public Task Run { get; }

    public void Send(string line) => SendBytes(Encoding.UTF8.GetBytes(line + "\n"));

    public void SendBytes(byte[] bytes)
    {
        _clientWrites.Write(bytes);
        _clientWrites.Flush();
    }

    /// <summary>Closes the client's side: the gateway reads the end of its input.</summary>
    public void CloseClientInput() => _clientWrites.Dispose();

    /// <summary>The next line the gateway wrote to the client, as it was written.</summary>
    public Task<string> ReceiveLineAsync() => ReceiveLineAsync(LineTimeout);

    /// <summary>The next line the gateway wrote to the client, waiting at most <paramref name="timeout"/> (a safety net, not a bound under test).</summary>
    public async Task<string> ReceiveLineAsync(TimeSpan timeout) =>
        await _fromGateway.ReadLineAsync().WaitAsync(timeout) ?? throw new EndOfStreamException("The gateway closed its output.");

    /// <summary>The next message the gateway wrote to the client.</summary>
    public async Task<JsonElement> ReceiveAsync() => JsonDocument.Parse(await ReceiveLineAsync()).RootElement;

    /// <summary>Sends a request and returns the next message the client gets.</summary>
    public async Task<JsonElement> RequestAsync(string line)
    {
        Send(line);
        return await ReceiveAsync();
    }

    /// <summary>Sends initialize (and initialized) and waits for the answer.</summary>
    public async Task<JsonElement> InitializeAsync(string? clientName = "test-client", bool elicitation = false)
    {
        var answer = await RequestAsync(InitializeRequest(clientName, elicitation));
        Send(InitializedNotification);
        return answer;
    }

    /// <summary>The initialize request (id 0) of a client named <paramref name="clientName"/>, declaring elicitation or not.</summary>
    public static string InitializeRequest(string? clientName, bool elicitation)
    {
        var capabilities = elicitation ? """{"elicitation":{}}""" : "{}";
        var info = clientName is null ? "" : $$$""","clientInfo":{"name":"{{{clientName}}}","version":"1"}""";
        return """{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":""" + capabilities + info + "}}";
    }

    public const string InitializedNotification = """{"jsonrpc":"2.0","method":"notifications/initialized"}""";

    public static string Call(string id, string tool, string arguments = "{}") =>
        $$$"""{"jsonrpc":"2.0","id":{{{id}}},"method":"tools/call","params":{"name":"{{{tool}}}","arguments":""" + arguments + "}}";

    /// <summary>Sends ping with <paramref name="id"/> and waits for its answer: every earlier message has been handled by then.</summary>
    public async Task SyncAsync(string id = "\"sync\"")
    {
        Send($$$"""{"jsonrpc":"2.0","id":{{{id}}},"method":"ping"}""");
        var answer = await ReceiveAsync();
        answer.GetProperty("id").GetRawText().Should().Be(id);
    }

    public void Dispose()
    {
        Watch?.Dispose();
        Gateway.Dispose();
        _clientWrites.Dispose();
        _clientReads.Dispose();
        _childWrites.Dispose();
        _childReads.Dispose();
        _evaluator.Dispose();
    }
}

/// <summary>
/// A fake clock that counts the timers created on it, so that a test moves time only once the code under test has set
/// the timer it means to fire (a timer set after the clock moved would wait for the next move).
/// </summary>
public sealed class TimerCountingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private int _timers;

    public int TimersCreated => Volatile.Read(ref _timers);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        Interlocked.Increment(ref _timers);
        return timer;
    }

    /// <summary>Waits (for real, briefly) until more than <paramref name="before"/> timers have been created.</summary>
    public async Task WaitForTimerAsync(int before)
    {
        for (var i = 0; i < 1000 && TimersCreated <= before; i++)
        {
            await Task.Delay(5);
        }

        TimersCreated.Should().BeGreaterThan(before, "the code under test should have set a timer");
    }
}

public static class JsonAssertions
{
    public static string DeniedText(this JsonElement response)
    {
        var result = response.GetProperty("result");
        result.GetProperty("isError").GetBoolean().Should().BeTrue();
        return result.GetProperty("content")[0].GetProperty("text").GetString()!;
    }

    public static int ErrorCode(this JsonElement response) => response.GetProperty("error").GetProperty("code").GetInt32();
}

/// <summary>A watched policy file, as the harness needs it: the first version, attaching the evaluator, stopping.</summary>
/// <param name="Initial">The version in force when watching started.</param>
/// <param name="Attach">Starts putting new versions in force in the evaluator, then calling the callback.</param>
/// <param name="Stop">Stops watching.</param>
public sealed record PolicyWatch(PolicyDocument Initial, Action<PolicyEvaluator, Action> Attach, IDisposable Stop) : IDisposable
{
    public void Dispose() => Stop.Dispose();
}

/// <summary>A logger that writes each event as a <c>policylayer proxy:</c> line, as the proxy's standard error shows it.</summary>
public sealed class WriterLogger(TextWriter writer) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            writer.WriteLine("policylayer proxy: " + formatter(state, exception));
        }
    }
}
