using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PolicyLayer.Gate;

namespace PolicyLayer.Gateway;

/// <summary>
/// One MCP session through the gateway: relays JSON-RPC between a client and a server, each behind an
/// <see cref="IMcpMessageChannel"/>, deciding every tools/call before the server sees it, filtering tools/list, asking
/// the person at the client for approvals, and giving reservations back when a forwarded call fails.
/// </summary>
/// <remarks>
/// The gateway owns the framing and the id space: every message it forwards is one it parsed, re-serialised, and every
/// request carries an id of the gateway's own, so what a peer receives is exactly what the gateway decided. Two
/// loops read the two peers; neither waits for an approval or the server's tool list. A loop over a channel read in
/// place (the proxy's stdio) runs on a thread of its own, as a byte relay's reader does; any other on the thread pool.
/// </remarks>
public sealed class McpGatewaySession : IDisposable
{
    private readonly PolicyEvaluator _evaluator;
    private readonly McpGatewayOptions _options;
    private readonly ILogger _logger;
    private readonly AuditLog? _audit;
    private readonly JsonRpcScanner _clientScanner = new(strict: true);
    private readonly JsonRpcScanner _serverScanner = new(strict: false);
    private readonly TaskCompletionSource _clientEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ToolListFilter _listFilter;
    private readonly ToolCallGate _gate;

    private PeerWriter? _toClient;
    private PeerWriter? _toServer;
    private ClientReplies _replies = null!;
    private Router _router = null!;
    private ToolCatalogue _catalogue = null!;
    private ToolCallHandler _calls = null!;
    private int _started;

    private volatile bool _initialized;
    private CallerIdentity _caller;
    private bool _clientCanElicit;

    /// <summary>Creates a session that decides calls with <paramref name="evaluator"/>.</summary>
    /// <param name="evaluator">The evaluator, usually the one <c>AddPolicyLayer</c> registers; the session does not dispose it.</param>
    /// <param name="options">The session's options; read once, here.</param>
    /// <param name="logger">Where the session reports what it dropped or could not do; none when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public McpGatewaySession(PolicyEvaluator evaluator, McpGatewayOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        _evaluator = evaluator;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _audit = options.AuditLog is { } log
            ? new AuditLog(log, options.TimeProvider, options.SessionId, options.AuditArgumentValues ? new AuditArguments(options.AuditRedactedArguments) : null)
            : null;
        _gate = new ToolCallGate(
            evaluator,
            new ToolCallGateOptions { Route = GateApprovalRoute.Elicitation, ApprovalTimeout = options.ApprovalTimeout, Inbox = options.ApprovalInbox },
            options.TimeProvider,
            loggerFactory: null);
        _listFilter = new ToolListFilter(_gate, options.AnnounceToolListChanges && !evaluator.ShadowMode);
        _caller = NewCaller(agent: null);
    }

    /// <summary>The identity calls are decided under: the grant, this session, and the client's name once it has sent initialize.</summary>
    public CallerIdentity Caller => Volatile.Read(ref _caller);

    /// <summary>Completes when the client's input has ended (or could no longer be read); the server's input is closed by then.</summary>
    public Task ClientInputEnded => _clientEnded.Task;

    /// <summary>
    /// Relays until the server's output ends. When the client's input ends, or <paramref name="cancellationToken"/> is
    /// cancelled, the server's input is closed, so that the server ends and its output with it.
    /// </summary>
    /// <param name="client">The client: what it sends, and where its answers go.</param>
    /// <param name="server">The server: what it sends, and where the client's decided messages go.</param>
    /// <param name="cancellationToken">Ends the session: closes the server's input.</param>
    /// <returns>A task that completes when the server's output has ended.</returns>
    /// <exception cref="InvalidOperationException">The session has already run.</exception>
    public Task RunAsync(IMcpMessageChannel client, IMcpMessageChannel server, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(server);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("A gateway session runs once.");
        }

        _toClient = new PeerWriter(client);
        _toServer = new PeerWriter(server);
        _replies = new ClientReplies(_toClient);
        var serverIds = new IdCounter();
        _router = new Router(
            _toClient,
            _toServer,
            new ClientRequestTable(serverIds, _options.MaxPendingRequests),
            new PeerRequestTable(new IdCounter(), _options.MaxPendingRequests));
        _catalogue = new ToolCatalogue(_toServer, serverIds, _options.ToolListTimeout, _options.TimeProvider);
        var held = new HeldApprovals(_options.MaxHeldApprovals, _options.MaxHeldApprovalBytes);
        _calls = new ToolCallHandler(_gate, _catalogue, held, _router, _toClient, _replies, _audit, _logger);

        var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.Register(static state => _ = ((McpGatewaySession)state!).CloseServerInputAsync(), this)
            : default;
        _ = StartLoop(ReadsInPlace(client), inPlace => ClientLoopAsync(client, inPlace));
        return StartLoop(ReadsInPlace(server), async inPlace =>
        {
            try
            {
                await ServerLoopAsync(server, inPlace).ConfigureAwait(false);
            }
            finally
            {
                await registration.DisposeAsync().ConfigureAwait(false);
            }
        });
    }

    /// <summary>Closes the server's input, so that it reads the end of its input (MCP's stdio shutdown).</summary>
    /// <returns>A task that completes when the input is closed.</returns>
    public async Task CloseServerInputAsync()
    {
        if (_toServer is { } toServer)
        {
            await toServer.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A new version of the policy is in force: calls are decided by it from now on, and tools/list answers filtered by
    /// it. When it shows or hides a tool the client has seen in a tools/list answer (and
    /// <see cref="McpGatewayOptions.AnnounceToolListChanges"/> is on), the client is sent
    /// <c>notifications/tools/list_changed</c>, so that it lists again. Never throws.
    /// </summary>
    public void OnPolicyReloaded() => _ = AnnounceListChangedAsync();

    /// <summary>Closes both peers' outputs.</summary>
    public void Dispose()
    {
        _ = CloseServerInputAsync();
        _ = _toClient?.CompleteAsync().AsTask();
    }

    private async Task AnnounceListChangedAsync()
    {
        try
        {
            if (_listFilter.SeenListingChanged() && _listFilter.ListChangedDeclared && _toClient is { } toClient)
            {
                await toClient.WriteAsync(0, static (json, _) =>
                {
                    json.WriteStartObject();
                    json.WriteString("jsonrpc", "2.0");
                    json.WriteString("method", "notifications/tools/list_changed");
                    json.WriteEndObject();
                }).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            GatewayLog.ListChangedNotSent(_logger, ex.Message);
        }
    }

    // ---------------------------------------------------------------- client -> server

    private async Task ClientLoopAsync(IMcpMessageChannel client, bool inPlace)
    {
        try
        {
            while (inPlace ? InPlace(ClientStepAsync(client)) : await ClientStepAsync(client).ConfigureAwait(false))
            {
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            GatewayLog.ConnectionClosed(_logger, ex.Message);
        }
        finally
        {
            await CloseServerInputAsync().ConfigureAwait(false);
            _clientEnded.TrySetResult();
        }
    }

    /// <summary>Reads and handles the client's next message; false at the end of its input.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ClientStepAsync(IMcpMessageChannel client)
    {
        var read = await client.ReadAsync(CancellationToken.None).ConfigureAwait(false);
        if (read.Status == McpMessageReadStatus.End)
        {
            return false;
        }

        if (read.Status == McpMessageReadStatus.TooLong)
        {
            await _replies.SendErrorAsync(default, ClientReplies.InvalidRequestCode, $"Invalid request: the message is longer than {_options.MaxMessageBytes} bytes (the proxy's --max-message-bytes); it was discarded.").ConfigureAwait(false);
            return true;
        }

        try
        {
            await HandleClientMessageAsync(read.Message, read.Scanned).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not IOException and not ObjectDisposedException)
        {
            // Fail closed: the message is not forwarded.
            GatewayLog.RefusedAfterInternalError(_logger, ex.Message);
            await _replies.SendErrorAsync(default, ClientReplies.InternalErrorCode, "Internal error in the policy proxy; the message was not forwarded.").ConfigureAwait(false);
        }

        return true;
    }

    private static ScanStatus Scanned(IScannedMessage scanned, out ScannedMessage message)
    {
        message = scanned.Envelope;
        return scanned.ScanStatus;
    }

    private async ValueTask HandleClientMessageAsync(ReadOnlyMemory<byte> line, IScannedMessage? scanned)
    {
        var text = TrimEnd(line);
        if (text.IsEmpty)
        {
            return;
        }

        // A message its transport scanned (strictly, as here) is not scanned twice; the offsets are the same, the end trimmed or not.
        ScannedMessage message;
        var status = scanned is null ? _clientScanner.Scan(text.Span, out message) : Scanned(scanned, out message);
        switch (status)
        {
            case ScanStatus.ParseError:
                await _replies.SendErrorAsync(default, ClientReplies.ParseErrorCode, message.Problem!).ConfigureAwait(false);
                return;
            case ScanStatus.InvalidRequest:
                await _replies.SendErrorAsync(IdOf(text, message), ClientReplies.InvalidRequestCode, message.Problem!).ConfigureAwait(false);
                return;
            case ScanStatus.Batch:
                await RefuseBatchAsync(text).ConfigureAwait(false);
                return;
        }

        if (message.Kind == MessageKind.Response)
        {
            await OnClientAnswerAsync(text, message).ConfigureAwait(false);
            return;
        }

        var id = IdOf(text, message);
        var method = message.Method!;
        if (string.Equals(method, "tools/call", StringComparison.OrdinalIgnoreCase) && !string.Equals(method, "tools/call", StringComparison.Ordinal))
        {
            await _replies.SendErrorAsync(id, ClientReplies.InvalidRequestCode, $"Invalid request: \"{method}\" is not a method, but a case-insensitive server would take it for tools/call.").ConfigureAwait(false);
            return;
        }

        if (message.Kind == MessageKind.Notification)
        {
            await OnClientNotificationAsync(text, method).ConfigureAwait(false);
            return;
        }

        if (!_initialized && method is not ("initialize" or "ping"))
        {
            await _replies.SendErrorAsync(id, ClientReplies.InvalidRequestCode, $"Invalid request: the client must send initialize before {method}.").ConfigureAwait(false);
            return;
        }

        if (_initialized && method == "initialize")
        {
            await _replies.SendErrorAsync(id, ClientReplies.InvalidRequestCode, "Invalid request: the session is already initialized.").ConfigureAwait(false);
            return;
        }

        var kind = method switch
        {
            "initialize" => RequestKind.Initialize,
            "tools/call" => RequestKind.ToolCall,

            // In shadow mode the list is passed on as the server sent it: hiding a tool would change what the agent does.
            "tools/list" when !_evaluator.ShadowMode => RequestKind.ToolsList,
            _ => RequestKind.Other,
        };

        if (kind == RequestKind.Initialize && message.ParamsType != JsonTokenType.StartObject)
        {
            await _replies.SendErrorAsync(id, ClientReplies.InvalidParamsCode, "Invalid params: initialize needs params with capabilities and clientInfo.").ConfigureAwait(false);
            return;
        }

        var request = new ClientRequest(message.IdKey!, id.ToArray(), kind);
        switch (_router.ClientRequests.TryAdd(request))
        {
            case AddResult.IdInFlight:
                await _replies.SendErrorAsync(id, ClientReplies.InvalidRequestCode, "Invalid request: a request with this id is still in progress; ids must be unique.").ConfigureAwait(false);
                return;
            case AddResult.Full:
                await _replies.SendErrorAsync(id, ClientReplies.InvalidRequestCode, $"Invalid request: the client has {_options.MaxPendingRequests} requests in flight, the most the proxy allows; wait for their answers.").ConfigureAwait(false);
                return;
        }

        switch (kind)
        {
            case RequestKind.Initialize:
                OnInitialize(text, message);
                break;
            case RequestKind.ToolCall:
                // Decided with a copy of the message, which the call owns: deciding can wait for an approval, and the client's
                // next messages (its answer among them) must be read meanwhile. The usual call is decided synchronously.
                var deciding = _calls.HandleAsync(text.ToArray(), message, request, Caller, _clientCanElicit);
                if (deciding.IsCompleted)
                {
                    await deciding.ConfigureAwait(false);
                }

                return;
        }

        await _router.ForwardRequestAsync(request, text, message.IdStart, message.IdLength).ConfigureAwait(false);
    }

    private void OnInitialize(ReadOnlyMemory<byte> text, in ScannedMessage message)
    {
        var reader = new Utf8JsonReader(message.Params(text).Span);
        var parameters = JsonElement.ParseValue(ref reader);
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

        _clientCanElicit = canElicit;
        Volatile.Write(ref _caller, NewCaller(string.IsNullOrEmpty(agent) ? null : agent));
        _initialized = true;
    }

    /// <summary>The client answered a request the gateway sent it: an approval, or a relayed server request.</summary>
    private async ValueTask OnClientAnswerAsync(ReadOnlyMemory<byte> text, ScannedMessage message)
    {
        if (!IdCounter.TryRead(message.IdKey, out var clientId) || _router.PeerRequests.TakeByClientId(clientId) is not { } request)
        {
            GatewayLog.DroppedUnmatchedAnswer(_logger, "client", message.IdKey ?? "none");
            return;
        }

        if (request.Approval is { } approval)
        {
            // The client's answer to the gateway's own approval request: the server never sees it.
            if (message.HasError)
            {
                approval.TrySetException(new GateClientException("the client answered the approval request with an error."));
            }
            else
            {
                using var document = JsonDocument.Parse(text);
                approval.TrySetResult(document.RootElement.GetProperty("result").Clone());
            }

            return;
        }

        await _router.AnswerServerAsync(request, text, message).ConfigureAwait(false);
    }

    private async ValueTask OnClientNotificationAsync(ReadOnlyMemory<byte> text, string method)
    {
        if (method == "tools/call")
        {
            await _replies.SendErrorAsync(default, ClientReplies.InvalidRequestCode, "Invalid request: tools/call must carry an id; the call was not forwarded.").ConfigureAwait(false);
            return;
        }

        if (method == "notifications/cancelled")
        {
            // Names a request by the client's id: translated to the id the server knows, or dropped.
            if (Router.TryReadCancelled(text, out var key, out var reason) && _router.ClientRequests.FindByClientId(key) is { } request)
            {
                if (request.ServerId == 0)
                {
                    // Not forwarded yet (being decided, or held for approval): it never will be.
                    request.Cancel();
                }
                else
                {
                    // A forwarded call may have run, so its units stay counted; the server is told under the id it knows.
                    await _router.CancelOnServerAsync(request, reason).ConfigureAwait(false);
                }
            }

            return;
        }

        await _router.NotifyServerAsync(text).ConfigureAwait(false);
    }

    private async ValueTask RefuseBatchAsync(ReadOnlyMemory<byte> text)
    {
        // MCP 2025-06-18 removed JSON-RPC batching: every request in a batch is refused with its own id,
        // and nothing in it is forwarded, so no undecided tools/call reaches the server.
        var ids = new List<ReadOnlyMemory<byte>>();
        using (var document = JsonDocument.Parse(text))
        {
            foreach (var element in document.RootElement.EnumerateArray())
            {
                var raw = System.Text.Encoding.UTF8.GetBytes(element.GetRawText());
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
            await _replies.SendErrorAsync(default, ClientReplies.InvalidRequestCode, Reason).ConfigureAwait(false);
            return;
        }

        await _replies.SendBatchErrorsAsync(ids, ClientReplies.InvalidRequestCode, Reason).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- server -> client

    private async Task ServerLoopAsync(IMcpMessageChannel server, bool inPlace)
    {
        try
        {
            while (inPlace ? InPlace(ServerStepAsync(server)) : await ServerStepAsync(server).ConfigureAwait(false))
            {
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            GatewayLog.ConnectionClosed(_logger, ex.Message);
        }
        finally
        {
            _catalogue.Fail("The server's output ended.");
        }
    }

    /// <summary>Reads and handles the server's next message; false at the end of its output.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ServerStepAsync(IMcpMessageChannel server)
    {
        var read = await server.ReadAsync(CancellationToken.None).ConfigureAwait(false);
        if (read.Status == McpMessageReadStatus.End)
        {
            return false;
        }

        if (read.Status != McpMessageReadStatus.Message)
        {
            GatewayLog.DroppedServerMessage(_logger, "it is longer than the limit");
            return true;
        }

        try
        {
            await HandleServerMessageAsync(read.Message).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not IOException and not ObjectDisposedException)
        {
            // Fail closed: a message the gateway could not process (such as a tools/list it could not filter) is dropped.
            GatewayLog.DroppedServerMessage(_logger, "internal error: " + ex.Message);
        }

        return true;
    }

    private async ValueTask HandleServerMessageAsync(ReadOnlyMemory<byte> line)
    {
        var text = TrimEnd(line);
        if (text.IsEmpty)
        {
            return;
        }

        if (_serverScanner.Scan(text.Span, out var message) != ScanStatus.Message)
        {
            // Only what the gateway parsed reaches the client: a line that is not one JSON-RPC message goes no further.
            GatewayLog.DroppedServerMessage(_logger, message.Problem ?? "it is not a JSON-RPC message");
            return;
        }

        switch (message.Kind)
        {
            case MessageKind.Response:
                await OnServerAnswerAsync(text, message).ConfigureAwait(false);
                return;
            case MessageKind.Request when message.HasUsableId:
                if (!await _router.TryRelayServerRequestAsync(text, message).ConfigureAwait(false))
                {
                    await _router.RefuseServerRequestAsync(text.Slice(message.IdStart, message.IdLength).ToArray(), "The gateway has as many server requests in flight as it allows, or one with this id.").ConfigureAwait(false);
                }

                return;
            case MessageKind.Request:
                GatewayLog.DroppedServerMessage(_logger, "a request whose id is not a string or a number");
                return;
        }

        if (message.Method == "notifications/cancelled")
        {
            // Names one of the server's requests by the server's id: translated to the id the client was sent, or dropped.
            if (Router.TryReadCancelled(text, out var key, out var reason) && _router.PeerRequests.TakeByServerId(key) is { } request)
            {
                await _router.CancelOnClientAsync(request.ClientId, reason).ConfigureAwait(false);
            }

            return;
        }

        if (message.Method == "notifications/tools/list_changed")
        {
            _listFilter.ForgetSeen();
            _catalogue.MarkStale();
        }

        await _router.NotifyClientAsync(text).ConfigureAwait(false);
    }

    private async ValueTask OnServerAnswerAsync(ReadOnlyMemory<byte> text, ScannedMessage message)
    {
        if (!IdCounter.TryRead(message.IdKey, out var serverId))
        {
            GatewayLog.DroppedUnmatchedAnswer(_logger, "server", message.IdKey ?? "none");
            return;
        }

        if (_catalogue.IsPageId(serverId))
        {
            await _catalogue.OnPageAsync(text, serverId, message.HasResult).ConfigureAwait(false);
            return;
        }

        if (_router.ClientRequests.TakeByServerId(serverId) is not { } request)
        {
            GatewayLog.DroppedUnmatchedAnswer(_logger, "server", message.IdKey!);
            return;
        }

        switch (request.Kind)
        {
            case RequestKind.Initialize when message.HasResult:
                if (await _listFilter.TryRelayInitializeResultAsync(_toClient!, text, request.ClientId).ConfigureAwait(false))
                {
                    return;
                }

                break;
            case RequestKind.ToolCall:
                await _calls.OnAnsweredAsync(request, message.HasError || message.ResultIsError).ConfigureAwait(false);
                break;
            case RequestKind.ToolsList when message.HasResult:
                await _listFilter.WriteFilteredAsync(_toClient!, text, request.ClientId).ConfigureAwait(false);
                return;
        }

        await _router.AnswerClientAsync(request, text, message).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- helpers

    private static bool ReadsInPlace(IMcpMessageChannel channel) => channel is StdioMessageChannel { ReadsInPlace: true };

    /// <summary>
    /// Starts a read loop. A loop over a channel read in place runs on a thread of its own, as a byte relay's reader does:
    /// each message is read, decided and written on that thread, and a step that has to wait (for a lock, a store) is
    /// waited for there. The thread pool is never blocked by a read, and an answer does not cross to another thread on its
    /// way through. Any other loop runs on the thread pool.
    /// </summary>
    private static Task StartLoop(bool inPlace, Func<bool, Task> loop) => inPlace
        ? Task.Factory.StartNew(() => loop(true), CancellationToken.None, TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default).Unwrap()
        : Task.Run(() => loop(false), CancellationToken.None);

    /// <summary>The result of a loop's step, waited for on the loop's own thread when it did not complete at once.</summary>
    private static bool InPlace(ValueTask<bool> step) => step.IsCompletedSuccessfully ? step.Result : step.AsTask().GetAwaiter().GetResult();

    private CallerIdentity NewCaller(string? agent) => _options.Claims is { } claims
        ? new CallerIdentity { GrantId = _options.GrantId, UserId = _options.UserId, SessionId = _options.SessionId, AgentId = agent, Claims = claims }
        : new CallerIdentity { GrantId = _options.GrantId, UserId = _options.UserId, SessionId = _options.SessionId, AgentId = agent };

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
}
