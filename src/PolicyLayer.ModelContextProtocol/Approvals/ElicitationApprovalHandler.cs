using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace PolicyLayer.Mcp;

/// <summary>
/// The built-in approver: asks the person at the client through MCP elicitation, showing the tool, the
/// policy's reason and the arguments. No elicitation capability, a decline, a cancel or a time-out refuses the call.
/// </summary>
/// <remarks>
/// Through input requests, each approval is single-use: its signed state carries a random nonce, and the approved
/// retry uses the nonce up in the evaluator's counter store, so the same retry sent again, to this server or to
/// another that shares the store, is refused.
/// </remarks>
internal sealed partial class ElicitationApprovalHandler : IApprovalHandler
{
    /// <summary>The key of the approval's input request in a multi-round-trip exchange.</summary>
    internal const string InputKey = "policylayer_approval";

    /// <summary>The boolean field the person ticks to approve.</summary>
    internal const string ApproveField = "approve";

    /// <summary>
    /// The counter that records used approvals, one scope key per nonce. The parentheses keep it apart from the
    /// counters of policies in practice; the random scope keys keep it apart from them in any case.
    /// </summary>
    internal const string NonceCounterName = "(policylayer approvals used)";

    /// <summary>The tag of the state's format: v2 carries a nonce. A state of another version is refused.</summary>
    private const string StateVersion = "v2";

    private const int NonceBytes = 16;

    /// <summary>The longest <see cref="PolicyLayerMcpOptions.ApprovalTimeout"/>: a used nonce must be remembered that long.</summary>
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);

    /// <summary>
    /// How much longer than the time-out a used nonce is remembered: server instances whose clocks disagree by up
    /// to this much still refuse a replay until the approval has expired on every one of them.
    /// </summary>
    private static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly ApprovalRoundTrip _roundTrip;
    private readonly byte[] _key;
    private readonly CounterStore _store;
    private readonly CounterDefinition _usedNonces;
    private readonly ILogger _logger;

    /// <param name="options">The middleware's options: time-out, round trip, signing key.</param>
    /// <param name="store">Where used approvals are recorded: the evaluator's counter store, shared by every instance that shares counters.</param>
    /// <param name="time">The clock of issue times and time-outs.</param>
    /// <param name="loggerFactory">Logs a counter store failure that refused an approval.</param>
    public ElicitationApprovalHandler(PolicyLayerMcpOptions options, CounterStore store, TimeProvider time, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        if (options.ApprovalTimeout <= TimeSpan.Zero || options.ApprovalTimeout > MaxTimeout)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options),
                options.ApprovalTimeout,
                "PolicyLayerMcpOptions.ApprovalTimeout must be positive and at most one day.");
        }

        _time = time;
        _timeout = options.ApprovalTimeout;
        _roundTrip = options.ApprovalRoundTrip;
        _key = options.ApprovalSigningKey is { } key ? key.ToArray() : RandomNumberGenerator.GetBytes(32);
        _store = store;

        // Whole milliseconds, rounded up, as counter stores keep windows.
        var window = TimeSpan.FromMilliseconds(Math.Ceiling((_timeout + ClockSkewAllowance).TotalMilliseconds));
        _usedNonces = new CounterDefinition(NonceCounterName, 1, window, CounterScope.Global);
        _logger = (ILogger?)loggerFactory?.CreateLogger("PolicyLayer.Mcp") ?? NullLogger.Instance;
    }

    public async ValueTask<ApprovalResult> RequestApprovalAsync(ApprovalRequest request, CancellationToken cancellationToken)
    {
        var context = request.Context;
        var server = context.Server;

        // A retry of a multi-round-trip request carries the person's answer and the state we signed.
        if (context.Params?.InputResponses is { } responses && responses.TryGetValue(InputKey, out var response))
        {
            return await ReadRetryAsync(request, response, context.Params.RequestState, cancellationToken).ConfigureAwait(false);
        }

        var channel = ApprovalChannel.Select(context, _roundTrip);
        if (channel.Kind == ApprovalChannelKind.None)
        {
            return ApprovalResult.Refused(channel.Refusal!);
        }

        if (channel.Kind == ApprovalChannelKind.InputRequest)
        {
            // Nothing was counted for this round: the retry is decided afresh and counted once.
            var state = Sign(request.Call, context.Params, _time.GetUtcNow().ToUnixTimeMilliseconds(), Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(NonceBytes)));
            throw new InputRequiredException(
                new Dictionary<string, InputRequest> { [InputKey] = InputRequest.ForElicitation(CreateElicitation(request)) },
                state);
        }

        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        ElicitResult answer;
        try
        {
            answer = await server.ElicitAsync(CreateElicitation(request), linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return ApprovalResult.Refused(string.Create(CultureInfo.InvariantCulture, $"Approval is required, and nobody answered within {_timeout.TotalSeconds:0} s."));
        }
        catch (Exception ex) when (ex is McpException or InvalidOperationException)
        {
            // The SDK refuses to send (InvalidOperationException) or the client answers with an error (McpException):
            // either way the reason is the SDK's, and the agent reads it instead of a bare "(error)".
            return ApprovalResult.Refused("Approval is required, and the client could not ask for it: " + ex.Message);
        }

        return Interpret(answer);
    }

    private async ValueTask<ApprovalResult> ReadRetryAsync(ApprovalRequest request, InputResponse response, string? state, CancellationToken cancellationToken)
    {
        if (state is null || !TryReadState(state, out var issuedAt, out var nonce) || !CryptographicOperations.FixedTimeEquals(
                Encoding.ASCII.GetBytes(Sign(request.Call, request.Context.Params, issuedAt, nonce)), Encoding.ASCII.GetBytes(state)))
        {
            return ApprovalResult.Refused("Approval is required, and the approval sent with this call was not issued for it.");
        }

        if (_time.GetUtcNow().ToUnixTimeMilliseconds() - issuedAt > (long)_timeout.TotalMilliseconds)
        {
            return ApprovalResult.Refused(string.Create(CultureInfo.InvariantCulture, $"Approval is required, and the approval came after the {_timeout.TotalSeconds:0} s allowed."));
        }

        var answer = response.Deserialize(InputResponse.ElicitResultJsonTypeInfo);
        if (answer is null)
        {
            return ApprovalResult.Refused("Approval is required, and the client's answer could not be read.");
        }

        var result = Interpret(answer);
        return result.IsApproved ? await UseUpAsync(request.Call.ToolName, nonce, cancellationToken).ConfigureAwait(false) : result;
    }

    // An approval allows one call: the first retry that brings it takes the nonce's one unit, and the unit is never
    // given back, not even when the tool then fails (the client asks again). Fails closed whatever the evaluator's
    // CounterStoreFailureMode says: an approval that cannot be recorded as used could be replayed.
    private async ValueTask<ApprovalResult> UseUpAsync(string toolName, string nonce, CancellationToken cancellationToken)
    {
        var requests = new[] { new CounterRequest(_usedNonces, nonce, 1) };
        var budgets = new CounterBudget[1];
        CounterReservationResult used;
        try
        {
            used = await _store.TryReserveAsync(requests, budgets, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            LogUseUpFailed(_logger, toolName, ex);
            return ApprovalResult.Refused("Approval is required, and the approval could not be recorded as used (the counter store failed), so it is refused.");
        }

        return used.IsAcquired
            ? ApprovalResult.Approved("Approved by the person at the client.")
            : ApprovalResult.Refused("Approval is required, and this approval was already used: each approval allows one call. Call the tool again to ask for a new one.");
    }

    private static ApprovalResult Interpret(ElicitResult answer)
    {
        if (!string.Equals(answer.Action, "accept", StringComparison.Ordinal))
        {
            return ApprovalResult.Refused(string.Equals(answer.Action, "decline", StringComparison.Ordinal)
                ? "Approval is required, and the person at the client declined this call."
                : "Approval is required, and the person at the client cancelled the request.");
        }

        return answer.Content is { } content && content.TryGetValue(ApproveField, out var approve) && approve.ValueKind == JsonValueKind.True
            ? ApprovalResult.Approved("Approved by the person at the client.")
            : ApprovalResult.Refused("Approval is required, and the person at the client did not tick 'approve'.");
    }

    private static ElicitRequestParams CreateElicitation(ApprovalRequest request)
    {
        var args = request.Context.Params?.Arguments is { Count: > 0 } a
            ? JsonSerializer.Serialize(a, PolicyLayerMcpJsonContext.Default.IDictionaryStringJsonElement)
            : "(none)";
        return new ElicitRequestParams
        {
            Message = $"The agent wants to call the tool '{request.Call.ToolName}'.\nWhy approval is needed: {request.Decision.Reason}\nArguments: {args}\nApprove this call?",
            RequestedSchema = new ElicitRequestParams.RequestSchema
            {
                Properties = new Dictionary<string, ElicitRequestParams.PrimitiveSchemaDefinition>
                {
                    [ApproveField] = new ElicitRequestParams.BooleanSchema
                    {
                        Title = "Approve",
                        Description = $"Let the agent call '{request.Call.ToolName}' with these arguments.",
                        Default = false,
                    },
                },
                Required = [ApproveField],
            },
        };
    }

    // The state binds the approval to this tool, these arguments and this caller, dates it, and names it with a
    // nonce: "v2.<issued at, Unix ms>.<nonce>.<HMAC-SHA256 of all that, base64url>".
    private string Sign(ToolCall call, CallToolRequestParams? parameters, long issuedAt, string nonce)
    {
        var args = parameters?.Arguments is { } a ? JsonSerializer.Serialize(a, PolicyLayerMcpJsonContext.Default.IDictionaryStringJsonElement) : string.Empty;
        var issued = issuedAt.ToString(CultureInfo.InvariantCulture);
        var text = string.Join('\u001f', StateVersion, call.ToolName, args, call.Caller.GrantId, call.Caller.UserId, issued, nonce);
        var mac = HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(text));
        return string.Join('.', StateVersion, issued, nonce, Base64Url.EncodeToString(mac));
    }

    // Reads the parts the signature is checked over; the signature check then decides whether they are ours.
    private static bool TryReadState(string state, out long issuedAt, out string nonce)
    {
        issuedAt = 0;
        nonce = string.Empty;
        Span<Range> parts = stackalloc Range[5];
        var span = state.AsSpan();
        if (span.Split(parts, '.') != 4 || !span[parts[0]].SequenceEqual(StateVersion)
            || !long.TryParse(span[parts[1]], NumberStyles.None, CultureInfo.InvariantCulture, out issuedAt)
            || span[parts[2]].IsEmpty)
        {
            return false;
        }

        nonce = state[parts[2]];
        return true;
    }

    [LoggerMessage(3, LogLevel.Error, "PolicyLayer could not record an approval of a call of {Tool} as used; the call is refused")]
    private static partial void LogUseUpFailed(ILogger logger, string tool, Exception exception);
}
