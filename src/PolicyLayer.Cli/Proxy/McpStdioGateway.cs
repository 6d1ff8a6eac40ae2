using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PolicyLayer.Cli.Proxy;

/// <summary>
/// The stdio gateway: relays newline-delimited JSON-RPC between an MCP client and a server (the child),
/// deciding every tools/call before the child sees it, filtering tools/list, asking the person at the client
/// for approvals through elicitation, and giving reservations back when a forwarded call fails.
/// </summary>
/// <remarks>
/// Two loops on dedicated threads read the two directions with blocking reads, so that a message is relayed
/// without thread-pool hops. Each peer has one <see cref="MessageWriter"/>, so lines written by both loops and
/// by approval tasks never interleave. Everything the proxy does not need to touch is forwarded byte for byte.
/// </remarks>
internal sealed partial class McpStdioGateway : IDisposable
{
    private const int ParseErrorCode = -32700;
    private const int InvalidRequestCode = -32600;
    private const int InvalidParamsCode = -32602;
    private const int InternalErrorCode = -32603;

    private readonly PolicyEvaluator _evaluator;
    private readonly string? _grantId;
    private readonly string _sessionId;
    private readonly int _maxMessageBytes;
    private readonly TimeSpan _approvalTimeout;
    private readonly TimeSpan _toolListTimeout;
    private readonly TimeProvider _time;
    private readonly AuditLog? _audit;
    private readonly bool _shadowMode;
    private readonly bool _announceListChanges;
    private readonly Func<ToolDescriptor, bool> _isListed;
    private readonly TextWriter? _diagnostics;

    /// <summary>Every id the proxy puts on its own requests starts with this; the client may not use it.</summary>
    private readonly string _idPrefix;
    private readonly string _idKeyPrefix;

    private readonly JsonRpcScanner _clientScanner = new(strict: true);
    private readonly JsonRpcScanner _childScanner = new(strict: false);

    /// <summary>Forwarded tools/call requests awaiting the child's answer, by id key, with the reservation to give back if they fail.</summary>
    private readonly ConcurrentDictionary<string, PolicyDecision> _pendingCalls = new(StringComparer.Ordinal);

    /// <summary>The client's tools/list requests awaiting the child's answer, by id key.</summary>
    private readonly ConcurrentDictionary<string, byte> _pendingLists = new(StringComparer.Ordinal);

    /// <summary>Calls held for approval, by the id key of the proxy's elicitation request.</summary>
    private readonly ConcurrentDictionary<string, PendingApproval> _approvals = new(StringComparer.Ordinal);

    /// <summary>The same calls, by the id key of the client's tools/call.</summary>
    private readonly ConcurrentDictionary<string, PendingApproval> _approvalsByCall = new(StringComparer.Ordinal);

    /// <summary>
    /// With <see cref="McpGatewayOptions.AnnounceToolListChanges"/>: every tool the client has been sent in a tools/list
    /// answer, by name, with whether it was listed, so that a reload can tell whether the list the client knows changed.
    /// </summary>
    private readonly Dictionary<string, SeenTool> _seenTools = new(StringComparer.Ordinal);
    private readonly Lock _seenLock = new();

    /// <summary>The id key of the client's initialize, until its answer is relayed (with listChanged declared).</summary>
    private volatile string? _initializeIdKey;

    /// <summary>Whether the client was told that the tool list can change, so that it expects list_changed.</summary>
    private volatile bool _listChangedDeclared;

    private readonly Lock _toolsLock = new();
    private volatile IReadOnlyDictionary<string, ToolDescriptor>? _tools;
    private ToolRefresh? _refresh;
    private long _nextId;

    private volatile bool _initialized;
    private CallerIdentity _caller;
    private bool _clientCanElicit;

    private readonly TaskCompletionSource _clientEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private MessageWriter _toClient = null!;
    private MessageWriter _toChild = null!;

    /// <summary>Creates a gateway that decides calls with <paramref name="evaluator"/>.</summary>
    public McpStdioGateway(PolicyEvaluator evaluator, McpGatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxMessageBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ApprovalTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ToolListTimeout, TimeSpan.Zero);
        ArgumentException.ThrowIfNullOrEmpty(options.SessionId);

        _evaluator = evaluator;
        _grantId = options.GrantId;
        _sessionId = options.SessionId;
        _maxMessageBytes = options.MaxMessageBytes;
        _approvalTimeout = options.ApprovalTimeout;
        _toolListTimeout = options.ToolListTimeout;
        _time = options.TimeProvider ?? throw new ArgumentException("TimeProvider must not be null.", nameof(options));
        _diagnostics = options.Diagnostics;
        _shadowMode = options.ShadowMode;
        _announceListChanges = options.AnnounceToolListChanges && !options.ShadowMode;
        _isListed = IsListedAndSeen;
        _audit = options.AuditLog is { } log ? new AuditLog(log, _time, _sessionId) : null;
        _idPrefix = "policylayer:" + _sessionId + ":";
        _idKeyPrefix = JsonRpcScanner.StringIdKey(_idPrefix);
        _caller = new CallerIdentity { GrantId = _grantId, SessionId = _sessionId };
    }

    /// <summary>The identity calls are decided under: the grant, this session, and the client's name once it has sent initialize.</summary>
    public CallerIdentity Caller => Volatile.Read(ref _caller);

    /// <summary>
    /// Relays until the child's output ends. When the client's input ends, or <paramref name="cancellationToken"/>
    /// is cancelled, the child's input is closed so that the child ends and its output with it.
    /// </summary>
    /// <param name="fromClient">What the client sends (the proxy's standard input).</param>
    /// <param name="toClient">What the client reads (the proxy's standard output).</param>
    /// <param name="fromChild">The child's standard output.</param>
    /// <param name="toChild">The child's standard input.</param>
    /// <param name="cancellationToken">Ends the session: closes the child's input.</param>
    /// <returns>A task that completes when the child's output has ended or the client can no longer be written to.</returns>
    public Task RunAsync(Stream fromClient, Stream toClient, Stream fromChild, Stream toChild, CancellationToken cancellationToken = default)
    {
        _toClient = new MessageWriter(toClient);
        _toChild = new MessageWriter(toChild);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        StartThread("policylayer client->server", () => ClientLoop(fromClient));
        StartThread("policylayer server->client", () =>
        {
            try
            {
                ChildLoop(fromChild);
            }
            finally
            {
                done.TrySetResult();
            }
        });

        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(static state => ((McpStdioGateway)state!).CloseChildInput(), this);
            done.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }

        return done.Task;
    }

    /// <summary>Completes when the client's input has ended (or could no longer be read); the child's input is closed by then.</summary>
    public Task ClientInputEnded => _clientEnded.Task;

    /// <summary>Closes the child's input, so that it reads the end of its input (MCP's stdio shutdown).</summary>
    public void CloseServerInput() => CloseChildInput();

    /// <summary>Closes both peers' outputs.</summary>
    public void Dispose()
    {
        CloseChildInput();
        _toClient?.Dispose();
    }

    private static void StartThread(string name, Action loop) =>
        new Thread(() => loop()) { IsBackground = true, Name = name }.Start();

    private void CloseChildInput()
    {
        try
        {
            _toChild?.Dispose();
        }
        catch (IOException)
        {
            // Already gone.
        }
    }

    private void Diagnose(string message) => _diagnostics?.WriteLine("policylayer proxy: " + message);

    // ---------------------------------------------------------------- client -> child

    private void ClientLoop(Stream fromClient)
    {
        var reader = new LineReader(fromClient, _maxMessageBytes);
        try
        {
            while (true)
            {
                var status = reader.Read();
                if (status == LineStatus.End)
                {
                    break;
                }

                if (status == LineStatus.TooLong)
                {
                    SendError(default, InvalidRequestCode, $"Invalid request: the message is longer than {_maxMessageBytes} bytes (the proxy's --max-message-bytes); it was discarded.");
                    continue;
                }

                try
                {
                    HandleClientLine(reader.Line, reader.LineWithNewline);
                }
                catch (Exception ex) when (ex is not IOException and not ObjectDisposedException)
                {
                    // Fail closed: the message is not forwarded.
                    Diagnose("refused a message after an internal error: " + ex.Message);
                    SendError(default, InternalErrorCode, "Internal error in the policy proxy; the message was not forwarded.");
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            Diagnose("the connection closed: " + ex.Message);
        }
        finally
        {
            CloseChildInput();
            _clientEnded.TrySetResult();
        }
    }

    private void HandleClientLine(ReadOnlyMemory<byte> line, ReadOnlyMemory<byte> lineWithNewline)
    {
        var text = TrimEnd(line);
        if (text.IsEmpty)
        {
            return;
        }

        var span = text.Span;
        switch (_clientScanner.Scan(span, out var message))
        {
            case ScanStatus.ParseError:
                SendError(default, ParseErrorCode, message.Problem!);
                return;
            case ScanStatus.InvalidRequest:
                SendError(IdOf(text, message), InvalidRequestCode, message.Problem!);
                return;
            case ScanStatus.Batch:
                RefuseBatch(text);
                return;
        }

        var id = IdOf(text, message);
        if (message.Kind == MessageKind.Response)
        {
            if (message.IdKey!.StartsWith(_idKeyPrefix, StringComparison.Ordinal))
            {
                // The client's answer to the proxy's own request: the child never sees it.
                if (_approvals.TryGetValue(message.IdKey, out var approval))
                {
                    approval.Answer(ReadApprovalAnswer(text, message));
                }

                return;
            }

            ForwardToChild(line, lineWithNewline);
            return;
        }

        var method = message.Method!;
        if (string.Equals(method, "tools/call", StringComparison.OrdinalIgnoreCase) && !string.Equals(method, "tools/call", StringComparison.Ordinal))
        {
            SendError(id, InvalidRequestCode, $"Invalid request: \"{method}\" is not a method, but a case-insensitive server would take it for tools/call.");
            return;
        }

        if (message.Kind == MessageKind.Notification)
        {
            if (method == "tools/call")
            {
                SendError(default, InvalidRequestCode, "Invalid request: tools/call must carry an id; the call was not forwarded.");
                return;
            }

            if (method == "notifications/cancelled")
            {
                OnClientCancelled(text);
            }

            ForwardToChild(line, lineWithNewline);
            return;
        }

        if (message.IdKey!.StartsWith(_idKeyPrefix, StringComparison.Ordinal))
        {
            SendError(id, InvalidRequestCode, $"Invalid request: ids that begin with \"{_idPrefix}\" are the proxy's own.");
            return;
        }

        if (!_initialized)
        {
            if (method == "initialize")
            {
                HandleInitialize(text, message, line, lineWithNewline);
            }
            else if (method == "ping")
            {
                ForwardToChild(line, lineWithNewline);
            }
            else
            {
                SendError(id, InvalidRequestCode, $"Invalid request: the client must send initialize before {method}.");
            }

            return;
        }

        switch (method)
        {
            case "initialize":
                SendError(id, InvalidRequestCode, "Invalid request: the session is already initialized.");
                return;
            case "tools/call":
                HandleToolCall(text, message, line, lineWithNewline);
                return;
            case "tools/list" when !_shadowMode:
                // In shadow mode the list is passed on as the server sent it: hiding a tool would change what the agent does.
                _pendingLists[message.IdKey] = 0;
                break;
        }

        ForwardToChild(line, lineWithNewline);
    }

    private void HandleInitialize(ReadOnlyMemory<byte> text, in ScannedMessage message, ReadOnlyMemory<byte> line, ReadOnlyMemory<byte> lineWithNewline)
    {
        var id = IdOf(text, message);
        if (message.ParamsType != JsonTokenType.StartObject)
        {
            SendError(id, InvalidParamsCode, "Invalid params: initialize needs params with capabilities and clientInfo.");
            return;
        }

        var parameters = ParseParams(text, message);
        string? agent = null;
        if (parameters.TryGetProperty("clientInfo", out var info) && info.ValueKind == JsonValueKind.Object
            && info.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
        {
            agent = name.GetString();
        }

        var canElicit = false;
        if (parameters.TryGetProperty("capabilities", out var capabilities) && capabilities.ValueKind == JsonValueKind.Object
            && capabilities.TryGetProperty("elicitation", out var elicitation) && elicitation.ValueKind == JsonValueKind.Object)
        {
            // An empty object means form mode (MCP 2025-06-18); later versions name the modes.
            canElicit = !elicitation.EnumerateObject().Any() || elicitation.TryGetProperty("form", out _);
        }

        if (_announceListChanges)
        {
            _initializeIdKey = message.IdKey;
        }

        _clientCanElicit = canElicit;
        Volatile.Write(ref _caller, new CallerIdentity { GrantId = _grantId, SessionId = _sessionId, AgentId = string.IsNullOrEmpty(agent) ? null : agent });
        _initialized = true;
        ForwardToChild(line, lineWithNewline);
    }

    private void HandleToolCall(ReadOnlyMemory<byte> text, in ScannedMessage message, ReadOnlyMemory<byte> line, ReadOnlyMemory<byte> lineWithNewline)
    {
        var id = IdOf(text, message);
        var key = message.IdKey!;
        if (message.ParamsType != JsonTokenType.StartObject)
        {
            SendError(id, InvalidParamsCode, "Invalid params: tools/call needs params with a name.");
            return;
        }

        var parameters = ParseParams(text, message);
        if (!parameters.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String
            || !TryGetString(nameElement, out var toolName) || toolName.Length == 0)
        {
            SendError(id, InvalidParamsCode, "Invalid params: params.name must be a non-empty string of valid Unicode.");
            return;
        }

        Dictionary<string, JsonElement>? arguments = null;
        if (parameters.TryGetProperty("arguments", out var argumentsElement))
        {
            if (argumentsElement.ValueKind != JsonValueKind.Object)
            {
                SendError(id, InvalidParamsCode, "Invalid params: params.arguments must be an object.");
                return;
            }

            arguments = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var argument in argumentsElement.EnumerateObject())
            {
                arguments[argument.Name] = argument.Value;
            }
        }

        if (_pendingCalls.ContainsKey(key) || _approvalsByCall.ContainsKey(key))
        {
            SendError(id, InvalidRequestCode, "Invalid request: a call with this id is still in progress; ids must be unique.");
            return;
        }

        var tools = EnsureTools(out var toolsProblem);
        var call = new ToolCall(toolName, Caller, arguments, tools?.GetValueOrDefault(toolName));
        if (tools is null)
        {
            // Fail closed: without the server's descriptors the classifier could be misled by a name alone.
            _audit?.Write(new AuditEntry(toolName, id, call.Caller.AgentId, PolicyOutcome.Deny, RuleIds.Error, toolsProblem!, null, arguments, Shadowed: _shadowMode, PolicyRevision: _evaluator.Policy.Revision));
            if (_shadowMode)
            {
                _pendingCalls[key] = default;
                ForwardToChild(line, lineWithNewline);
                return;
            }

            SendDenied(id, toolsProblem!, RuleIds.Error, null, null);
            return;
        }

        var decision = Wait(_evaluator.EvaluateAsync(call));
        if (_shadowMode || decision.IsShadowed)
        {
            GoAheadShadowed(call, decision, key, id, line, lineWithNewline);
            return;
        }

        Audit(call, id, decision);
        switch (decision.Outcome)
        {
            case PolicyOutcome.Allow:
                _pendingCalls[key] = decision;
                ForwardToChild(line, lineWithNewline);
                return;
            case PolicyOutcome.RequireApproval when _clientCanElicit:
                StartApproval(call, decision, key, id.ToArray(), lineWithNewline.ToArray(), lineWithNewline.Length != line.Length);
                return;
            case PolicyOutcome.RequireApproval:
                SendDenied(id, decision, "The client cannot be asked for approval: it did not declare the elicitation capability.");
                return;
            default:
                SendDenied(id, decision, null);
                return;
        }
    }

    /// <summary>
    /// Shadow mode: the call goes ahead whatever the policy decided, and the audit says what would have applied. A call
    /// that would have waited for approval is decided again as approved, without asking anyone, so that it is counted
    /// (and limited) as an approved call would be; both decisions are audited, as a held call and its approval are.
    /// </summary>
    private void GoAheadShadowed(ToolCall call, PolicyDecision decision, string key, ReadOnlyMemory<byte> id, ReadOnlyMemory<byte> line, ReadOnlyMemory<byte> lineWithNewline)
    {
        Audit(call, id, decision);
        if ((decision.ShadowedOutcome ?? decision.Outcome) == PolicyOutcome.RequireApproval)
        {
            var approved = new ToolCall(call.ToolName, call.Caller, call.Arguments, call.Tool) { IsApproved = true };
            decision = Wait(_evaluator.EvaluateAsync(approved));
            Audit(approved, id, decision, "not_asked");
        }

        _pendingCalls[key] = decision;
        ForwardToChild(line, lineWithNewline);
    }

    private void OnClientCancelled(ReadOnlyMemory<byte> text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            if (!document.RootElement.TryGetProperty("params", out var parameters) || parameters.ValueKind != JsonValueKind.Object
                || !parameters.TryGetProperty("requestId", out var requestId)
                || requestId.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
            {
                return;
            }

            var raw = Encoding.UTF8.GetBytes(requestId.GetRawText());
            var reader = new Utf8JsonReader(raw);
            reader.Read();
            var key = JsonRpcScanner.IdKey(ref reader);

            // A cancelled call may or may not have run, so its units stay counted; only the bookkeeping goes.
            _pendingCalls.TryRemove(key, out _);
            if (_approvalsByCall.TryGetValue(key, out var approval))
            {
                approval.Answer(ApprovalAnswer.CancelledByClient);
            }
        }
        catch (JsonException)
        {
            // Already validated by the scanner; nothing to do if it is odd.
        }
    }

    private void RefuseBatch(ReadOnlyMemory<byte> text)
    {
        // MCP 2025-06-18 removed JSON-RPC batching: every request in a batch is refused with its own id,
        // and nothing in it is forwarded, so no undecided tools/call reaches the server.
        var ids = new List<ReadOnlyMemory<byte>>();
        using (var document = JsonDocument.Parse(text))
        {
            foreach (var element in document.RootElement.EnumerateArray())
            {
                var raw = Encoding.UTF8.GetBytes(element.GetRawText());
                if (_clientScanner.Scan(raw, out var inner) is ScanStatus.Message or ScanStatus.InvalidRequest
                    && inner.HasUsableId && inner.Kind != MessageKind.Response)
                {
                    ids.Add(raw.AsMemory(inner.IdStart, inner.IdLength));
                }
            }
        }

        const string Reason = "Invalid request: JSON-RPC batches are not accepted (MCP removed them in 2025-06-18); send one message per line. Nothing in the batch was forwarded.";
        if (ids.Count == 0)
        {
            SendError(default, InvalidRequestCode, Reason);
            return;
        }

        _toClient.Write(ids, static (json, ids) =>
        {
            json.WriteStartArray();
            foreach (var id in ids)
            {
                WriteError(json, id, InvalidRequestCode, Reason);
            }

            json.WriteEndArray();
        });
    }

    // ---------------------------------------------------------------- approvals

    private void StartApproval(ToolCall call, PolicyDecision held, string callKey, byte[] callId, byte[] callLine, bool hasNewline)
    {
        var elicitationId = _idPrefix + "approve:" + Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture);
        var approval = new PendingApproval(call, held, callKey, callId, hasNewline ? callLine : [.. callLine, (byte)'\n'], elicitationId);
        _approvals[JsonRpcScanner.StringIdKey(elicitationId)] = approval;
        _approvalsByCall[callKey] = approval;

        _toClient.Write((approval, Message: ApprovalMessage(call, held)), static (json, state) =>
        {
            json.WriteStartObject();
            json.WriteString("jsonrpc", "2.0");
            json.WriteString("id", state.approval.ElicitationId);
            json.WriteString("method", "elicitation/create");
            json.WriteStartObject("params");
            json.WriteString("message", state.Message);
            json.WriteStartObject("requestedSchema");
            json.WriteString("type", "object");
            json.WriteStartObject("properties");
            json.WriteStartObject("approve");
            json.WriteString("type", "boolean");
            json.WriteString("title", "Approve this call");
            json.WriteString("description", "Let the agent make this tool call once.");
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteStartArray("required");
            json.WriteStringValue("approve");
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        });

        _ = CompleteApprovalAsync(approval);
    }

    private async Task CompleteApprovalAsync(PendingApproval approval)
    {
        ApprovalAnswer answer;
        try
        {
            answer = await approval.Answered.WaitAsync(_approvalTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            answer = ApprovalAnswer.TimedOut;
        }

        _approvals.TryRemove(JsonRpcScanner.StringIdKey(approval.ElicitationId), out _);
        _approvalsByCall.TryRemove(approval.CallKey, out _);
        try
        {
            if (answer is ApprovalAnswer.TimedOut or ApprovalAnswer.CancelledByClient)
            {
                // The person's dialog is no longer wanted.
                _toClient.Write(approval.ElicitationId, static (json, id) =>
                {
                    json.WriteStartObject();
                    json.WriteString("jsonrpc", "2.0");
                    json.WriteString("method", "notifications/cancelled");
                    json.WriteStartObject("params");
                    json.WriteString("requestId", id);
                    json.WriteString("reason", "The approval is no longer needed.");
                    json.WriteEndObject();
                    json.WriteEndObject();
                });
            }

            if (answer == ApprovalAnswer.CancelledByClient)
            {
                // The client cancelled its own call: JSON-RPC sends no response to a cancelled request.
                Audit(approval.Call, approval.CallId, approval.Held, "cancelled_by_client");
                return;
            }

            if (answer != ApprovalAnswer.Accepted)
            {
                Audit(approval.Call, approval.CallId, approval.Held, ApprovalName(answer));
                SendDenied(approval.CallId, approval.Held, ApprovalProblem(answer));
                return;
            }

            var approved = new ToolCall(approval.Call.ToolName, approval.Call.Caller, approval.Call.Arguments, approval.Call.Tool) { IsApproved = true };
            var decision = await _evaluator.EvaluateAsync(approved).ConfigureAwait(false);
            Audit(approved, approval.CallId, decision, "accepted");
            if (decision.Outcome == PolicyOutcome.Allow)
            {
                _pendingCalls[approval.CallKey] = decision;
                ForwardToChild(approval.CallLine, approval.CallLine);
            }
            else
            {
                SendDenied(approval.CallId, decision, "A person approved the call, but the policy refused it when it was made.");
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            Diagnose("could not finish an approval: " + ex.Message);
        }
        catch (Exception ex)
        {
            // Fail closed: the call is refused, never forwarded undecided.
            Diagnose("refused a call after an internal error during its approval: " + ex.Message);
            try
            {
                SendDenied(approval.CallId, approval.Held, "The proxy failed while handling the approval.");
            }
            catch (Exception inner) when (inner is IOException or ObjectDisposedException)
            {
                Diagnose("could not send the refusal: " + inner.Message);
            }
        }
    }

    private static string ApprovalMessage(ToolCall call, PolicyDecision held)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"The agent wants to call the tool '{call.ToolName}'. {held.Reason}");
        if (call.Arguments is { Count: > 0 } arguments)
        {
            // The person needs the values to judge the call; the client sent them, so they are the client's to see.
            var json = ArgumentsJson(arguments);
            text.Append(" Arguments: ").Append(json.Length > 2000 ? string.Concat(json.AsSpan(0, 2000), "…") : json);
        }

        text.Append(" Approve this call?");
        return text.ToString();
    }

    private static string ArgumentsJson(IReadOnlyDictionary<string, JsonElement> arguments)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (name, value) in arguments)
            {
                json.WritePropertyName(name);
                value.WriteTo(json);
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static ApprovalAnswer ReadApprovalAnswer(ReadOnlyMemory<byte> text, in ScannedMessage message)
    {
        if (message.HasError)
        {
            return ApprovalAnswer.Failed;
        }

        using var document = JsonDocument.Parse(text);
        var result = document.RootElement.GetProperty("result");
        if (result.ValueKind != JsonValueKind.Object || !result.TryGetProperty("action", out var action) || action.ValueKind != JsonValueKind.String)
        {
            return ApprovalAnswer.Failed;
        }

        return action.GetString() switch
        {
            "accept" when result.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Object
                && content.TryGetProperty("approve", out var approve) && approve.ValueKind == JsonValueKind.True => ApprovalAnswer.Accepted,
            "accept" => ApprovalAnswer.Declined,
            "decline" => ApprovalAnswer.Declined,
            "cancel" => ApprovalAnswer.Cancelled,
            _ => ApprovalAnswer.Failed,
        };
    }

    private string ApprovalProblem(ApprovalAnswer answer) => answer switch
    {
        ApprovalAnswer.Declined => "The person at the client declined it.",
        ApprovalAnswer.Cancelled => "The person at the client dismissed the approval request.",
        ApprovalAnswer.TimedOut => $"Nobody answered the approval request within {_approvalTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s.",
        _ => "The client answered the approval request with an error.",
    };

    private static string ApprovalName(ApprovalAnswer answer) => answer switch
    {
        ApprovalAnswer.Declined => "declined",
        ApprovalAnswer.Cancelled => "cancelled",
        ApprovalAnswer.TimedOut => "timed_out",
        _ => "failed",
    };

    // ---------------------------------------------------------------- child -> client

    private void ChildLoop(Stream fromChild)
    {
        // The child is the server being protected, not an adversary: its lines are not size-limited.
        var reader = new LineReader(fromChild, int.MaxValue);
        try
        {
            while (reader.Read() == LineStatus.Line)
            {
                try
                {
                    HandleChildLine(reader.Line, reader.LineWithNewline);
                }
                catch (Exception ex) when (ex is not IOException and not ObjectDisposedException)
                {
                    // Fail closed: a line the proxy could not process (such as a tools/list it could not filter) is dropped.
                    Diagnose("dropped a message from the server after an internal error: " + ex.Message);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            Diagnose("the client or the server closed the connection: " + ex.Message);
        }
        finally
        {
            FailPendingRefresh("The server's output ended.");
        }
    }

    private void HandleChildLine(ReadOnlyMemory<byte> line, ReadOnlyMemory<byte> lineWithNewline)
    {
        var text = TrimEnd(line);
        if (text.IsEmpty || _childScanner.Scan(text.Span, out var message) != ScanStatus.Message)
        {
            _toClient.WriteRaw(lineWithNewline.Span, addNewline: lineWithNewline.Length == line.Length);
            return;
        }

        if (message.Kind == MessageKind.Response && message.IdKey is { } key)
        {
            if (key.StartsWith(_idKeyPrefix, StringComparison.Ordinal))
            {
                OnToolListPage(text, message);
                return;
            }

            if (key == _initializeIdKey)
            {
                _initializeIdKey = null;
                if (message.HasResult && RelayInitializeResult(text))
                {
                    return;
                }
            }

            if (_pendingCalls.TryRemove(key, out var decision) && (message.HasError || message.ResultIsError))
            {
                Release(decision);
            }
            else if (_pendingLists.TryRemove(key, out _) && message.HasResult)
            {
                WriteFilteredList(text);
                return;
            }
        }
        else if (message.Kind == MessageKind.Notification && message.Method == "notifications/tools/list_changed")
        {
            MarkToolsStale();
        }

        _toClient.WriteRaw(lineWithNewline.Span, addNewline: lineWithNewline.Length == line.Length);
    }

    private void Release(PolicyDecision decision)
    {
        try
        {
            Wait(decision.ReleaseAsync());
        }
        catch (Exception ex) when (ex is not IOException)
        {
            Diagnose("could not give back the units of a failed call: " + ex.Message);
        }
    }

    private void WriteFilteredList(ReadOnlyMemory<byte> text)
    {
        using var document = JsonDocument.Parse(text);
        _toClient.Write((document.RootElement, _isListed), static (json, state) => ToolListing.WriteFiltered(json, state.RootElement, state._isListed));
    }

    /// <summary>Whether tools/list shows <paramref name="tool"/>; remembers the answer when list changes are announced.</summary>
    private bool IsListedAndSeen(ToolDescriptor tool)
    {
        if (!_announceListChanges)
        {
            return _evaluator.IsListed(tool);
        }

        // Decided and remembered under the lock that OnPolicyReloaded compares under: an answer given under the old
        // version is either compared (and announced if it changed) or given under the new one, never missed.
        lock (_seenLock)
        {
            var listed = _evaluator.IsListed(tool);
            _seenTools[tool.Name] = new SeenTool(tool, listed);
            return listed;
        }
    }

    /// <summary>
    /// Relays the server's answer to initialize with <c>capabilities.tools.listChanged: true</c>, since a reload of the
    /// policy can change the list even when the server's tools never do. Returns false when the server declares no
    /// tools (it is relayed unchanged then, and the client is never sent list_changed).
    /// </summary>
    private bool RelayInitializeResult(ReadOnlyMemory<byte> text)
    {
        using var document = JsonDocument.Parse(text);
        if (!ToolListing.DeclaresTools(document.RootElement, out var listChanged))
        {
            return false;
        }

        _listChangedDeclared = true;
        if (listChanged)
        {
            return false;
        }

        _toClient.Write(document.RootElement, static (json, response) => ToolListing.WriteDeclaringListChanged(json, response));
        return true;
    }

    // ---------------------------------------------------------------- policy reloads

    /// <summary>
    /// A new version of the policy is in force (<c>--watch</c>): calls are decided by it from now on, and tools/list
    /// answers filtered by it. When it shows or hides a tool the client has seen in a tools/list answer, the client is
    /// sent <c>notifications/tools/list_changed</c>, so that it lists again. Runs on the watcher's timer; never throws.
    /// </summary>
    public void OnPolicyReloaded()
    {
        if (!_announceListChanges)
        {
            return;
        }

        var changed = false;
        try
        {
            lock (_seenLock)
            {
                foreach (var seen in _seenTools.Values.ToArray())
                {
                    var listed = _evaluator.IsListed(seen.Tool);
                    if (listed != seen.Listed)
                    {
                        _seenTools[seen.Tool.Name] = seen with { Listed = listed };
                        changed = true;
                    }
                }
            }

            if (changed && _listChangedDeclared && _toClient is { } toClient)
            {
                toClient.Write(0, static (json, _) =>
                {
                    json.WriteStartObject();
                    json.WriteString("jsonrpc", "2.0");
                    json.WriteString("method", "notifications/tools/list_changed");
                    json.WriteEndObject();
                });
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            Diagnose("could not tell the client that its tool list changed: " + ex.Message);
        }
    }

    // ---------------------------------------------------------------- tool descriptors

    /// <summary>
    /// The server's tool descriptors, read by the proxy's own tools/list (all pages) the first time a call needs
    /// them and again after the server says its list changed. Blocks the client loop until they arrive.
    /// </summary>
    private IReadOnlyDictionary<string, ToolDescriptor>? EnsureTools(out string? problem)
    {
        problem = null;
        if (_tools is { } tools)
        {
            return tools;
        }

        ToolRefresh refresh;
        var start = false;
        lock (_toolsLock)
        {
            if (_tools is { } fresh)
            {
                return fresh;
            }

            if (_refresh is null)
            {
                _refresh = new ToolRefresh();
                start = true;
            }

            refresh = _refresh;
        }

        if (start)
        {
            RequestToolPage(refresh, cursor: null);
        }

        try
        {
            return refresh.Completion.Task.WaitAsync(_toolListTimeout, _time).GetAwaiter().GetResult();
        }
        catch (TimeoutException)
        {
            lock (_toolsLock)
            {
                if (ReferenceEquals(_refresh, refresh))
                {
                    _refresh = null;
                }
            }

            problem = $"The server did not answer the proxy's tools/list within {_toolListTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s, so the call cannot be classified.";
            return null;
        }
        catch (InvalidOperationException ex)
        {
            problem = ex.Message;
            return null;
        }
    }

    private void RequestToolPage(ToolRefresh refresh, string? cursor)
    {
        var id = _idPrefix + "tools:" + Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture);
        refresh.PageIdKey = JsonRpcScanner.StringIdKey(id);
        _toChild.Write((id, cursor), static (json, state) =>
        {
            json.WriteStartObject();
            json.WriteString("jsonrpc", "2.0");
            json.WriteString("id", state.id);
            json.WriteString("method", "tools/list");
            json.WriteStartObject("params");
            if (state.cursor is not null)
            {
                json.WriteString("cursor", state.cursor);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        });
    }

    private void OnToolListPage(ReadOnlyMemory<byte> text, in ScannedMessage message)
    {
        ToolRefresh? refresh;
        lock (_toolsLock)
        {
            refresh = _refresh;
        }

        if (refresh is null || refresh.PageIdKey != message.IdKey)
        {
            return;
        }

        string? next = null;
        if (message.HasResult)
        {
            using var document = JsonDocument.Parse(text);
            next = ToolListing.ReadPage(document.RootElement.GetProperty("result"), refresh.Tools);
        }

        // A server without tools answers with an error: it has no descriptors, and no tools to call either.
        if (next is not null && refresh.Pages++ < 1000)
        {
            RequestToolPage(refresh, next);
            return;
        }

        lock (_toolsLock)
        {
            if (ReferenceEquals(_refresh, refresh))
            {
                _refresh = null;
                if (!refresh.Outdated)
                {
                    _tools = refresh.Tools;
                }
            }
        }

        refresh.Completion.TrySetResult(refresh.Tools);
    }

    private void MarkToolsStale()
    {
        // The client lists again after the server's notification; what it saw before is no longer what it knows.
        lock (_seenLock)
        {
            _seenTools.Clear();
        }

        lock (_toolsLock)
        {
            _tools = null;
            if (_refresh is not null)
            {
                _refresh.Outdated = true;
            }
        }
    }

    private void FailPendingRefresh(string why)
    {
        ToolRefresh? refresh;
        lock (_toolsLock)
        {
            refresh = _refresh;
            _refresh = null;
        }

        refresh?.Completion.TrySetException(new InvalidOperationException(why + " The call cannot be classified."));
    }

    // ---------------------------------------------------------------- writing

    private void ForwardToChild(ReadOnlyMemory<byte> line, ReadOnlyMemory<byte> lineWithNewline) =>
        _toChild.WriteRaw(lineWithNewline.Span, addNewline: lineWithNewline.Length == line.Length);

    private void SendError(ReadOnlyMemory<byte> id, int code, string message) =>
        _toClient.Write((id, code, message), static (json, state) => WriteError(json, state.id, state.code, state.message));

    private static void WriteError(Utf8JsonWriter json, ReadOnlyMemory<byte> id, int code, string message)
    {
        json.WriteStartObject();
        json.WriteString("jsonrpc", "2.0");
        WriteId(json, id);
        json.WriteStartObject("error");
        json.WriteNumber("code", code);
        json.WriteString("message", message);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private void SendDenied(ReadOnlyMemory<byte> id, in PolicyDecision decision, string? because) =>
        SendDenied(id, decision.Reason, decision.RuleId, decision.RetryAfter, because);

    private void SendDenied(ReadOnlyMemory<byte> id, string reason, string ruleId, TimeSpan? retryAfter, string? because)
    {
        var text = DeniedText(reason, ruleId, retryAfter, because);
        _toClient.Write((id, text), static (json, state) =>
        {
            json.WriteStartObject();
            json.WriteString("jsonrpc", "2.0");
            WriteId(json, state.id);
            json.WriteStartObject("result");
            json.WriteStartArray("content");
            json.WriteStartObject();
            json.WriteString("type", "text");
            json.WriteString("text", state.text);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteBoolean("isError", true);
            json.WriteEndObject();
            json.WriteEndObject();
        });
    }

    /// <summary>The text of a refusal: <c>[POLICY DENIED] reason (rule id; retry after N s)</c>.</summary>
    internal static string DeniedText(string reason, string ruleId, TimeSpan? retryAfter, string? because)
    {
        var text = new StringBuilder("[POLICY DENIED] ").Append(reason);
        if (because is not null)
        {
            text.Append(' ').Append(because);
        }

        text.Append(" (rule ").Append(ruleId);
        if (retryAfter is { } retry)
        {
            text.Append(CultureInfo.InvariantCulture, $"; retry after {Math.Max(1, (long)Math.Ceiling(retry.TotalSeconds))} s");
        }

        return text.Append(')').ToString();
    }

    private static void WriteId(Utf8JsonWriter json, ReadOnlyMemory<byte> id)
    {
        json.WritePropertyName("id");
        if (id.IsEmpty)
        {
            json.WriteNullValue();
        }
        else
        {
            // The id exactly as the client wrote it, so that the client matches it whatever its type or size.
            json.WriteRawValue(id.Span, skipInputValidation: true);
        }
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Audits a decision; a shadowed one with the outcome the policy would have enforced.</summary>
    private void Audit(ToolCall call, ReadOnlyMemory<byte> id, in PolicyDecision decision, string? approval = null) =>
        _audit?.Write(new AuditEntry(
            call.ToolName,
            id,
            call.Caller.AgentId,
            decision.ShadowedOutcome ?? decision.Outcome,
            decision.RuleId,
            decision.Reason,
            decision.RetryAfter,
            call.Arguments,
            approval,
            Shadowed: _shadowMode || decision.IsShadowed,
            PolicyRevision: decision.PolicyRevision));

    private static bool TryGetString(JsonElement element, out string value)
    {
        try
        {
            value = element.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            // An escape that is not valid UTF-16, such as a lone surrogate: no tool has that name.
            value = string.Empty;
            return false;
        }
    }

    private static JsonElement ParseParams(ReadOnlyMemory<byte> text, in ScannedMessage message)
    {
        var reader = new Utf8JsonReader(message.Params(text).Span);
        return JsonElement.ParseValue(ref reader);
    }

    private static ReadOnlyMemory<byte> IdOf(ReadOnlyMemory<byte> text, in ScannedMessage message) =>
        message.HasUsableId ? text.Slice(message.IdStart, message.IdLength) : default;

    private static ReadOnlyMemory<byte> TrimEnd(ReadOnlyMemory<byte> line)
    {
        var span = line.Span;
        var length = span.Length;
        while (length > 0 && span[length - 1] is (byte)'\r' or (byte)' ' or (byte)'\t')
        {
            length--;
        }

        return line[..length];
    }

    private static T Wait<T>(ValueTask<T> pending) => pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();

    private static void Wait(ValueTask pending)
    {
        if (!pending.IsCompletedSuccessfully)
        {
            pending.AsTask().GetAwaiter().GetResult();
        }
    }
}
