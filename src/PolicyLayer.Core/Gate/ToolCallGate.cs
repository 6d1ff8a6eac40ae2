using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PolicyLayer.Gate;

/// <summary>
/// What happens to one tools/call, for every host (the MCP middleware, the stdio proxy, the HTTP gateway): decide; ask
/// for approval and decide again as approved; shadow mode; the refusal the agent reads; and, once the call ends, whether
/// its units are given back. Hosts are adapters: they read the call off their transport, implement <see cref="IGateClient"/>,
/// run the tool, and report how it ended (<see cref="SettleAsync"/>). One per server; safe from many threads.
/// </summary>
internal sealed partial class ToolCallGate
{
    /// <summary>The key of the approval's input request in a multi-round-trip exchange.</summary>
    public const string InputKey = "policylayer_approval";

    /// <summary>The longest approval time-out: a used approval must be remembered that long.</summary>
    public static readonly TimeSpan MaxApprovalTimeout = TimeSpan.FromDays(1);

    private readonly PolicyEvaluator _evaluator;
    private readonly GateApprovalRoute _route;
    private readonly TimeSpan _approvalTimeout;
    private readonly IGateApprover? _approver;
    private readonly ApprovalInbox? _inbox;
    private readonly ApprovalTickets _tickets;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <param name="evaluator">Decides the calls.</param>
    /// <param name="options">How approvals are asked for.</param>
    /// <param name="time">The clock of approval time-outs and states.</param>
    /// <param name="loggerFactory">Logs refusals and failures.</param>
    public ToolCallGate(PolicyEvaluator evaluator, ToolCallGateOptions options, TimeProvider time, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        if (options.ApprovalTimeout <= TimeSpan.Zero || options.ApprovalTimeout > MaxApprovalTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ApprovalTimeout, "The approval time-out must be positive and at most one day.");
        }

        _evaluator = evaluator;
        _route = options.Route;
        _approvalTimeout = options.ApprovalTimeout;
        _approver = options.Approver;
        _inbox = options.Inbox;
        _time = time;
        _tickets = new ApprovalTickets(options.SigningKey, options.ApprovalTimeout, time);
        _logger = (ILogger?)loggerFactory?.CreateLogger("PolicyLayer.Gate") ?? NullLogger.Instance;
    }

    /// <summary>The evaluator the gate decides with.</summary>
    public PolicyEvaluator Evaluator => _evaluator;

    /// <summary>
    /// Whether tools/list shows <paramref name="tool"/>: not when the policy hides it, nor (with <paramref name="filterDenied"/>)
    /// when it denies it outright; in shadow mode always, since shadow mode changes nothing the agent sees.
    /// </summary>
    public bool IsListed(ToolDescriptor tool, bool filterDenied)
    {
        if (_evaluator.ShadowMode)
        {
            return true;
        }

        return filterDenied ? _evaluator.IsListed(tool) : !_evaluator.Policy.Compiled.Hide.TryMatch(tool.Name, out _, out _);
    }

    /// <summary>
    /// Decides a call: refused (with the text and <c>_meta</c> the agent reads), admitted (with the units it holds), or,
    /// for an approval asked through an input request, to be answered with an input-required result. Never throws for
    /// a failure while deciding (that refuses the call); throws <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    public ValueTask<GateVerdict> DecideAsync(GateCall request, IGateClient client, CancellationToken cancellationToken)
    {
        var call = request.Call;
        if (request.ArgumentProblem is { } ambiguous)
        {
            var refusal = GateRefusal.ForArguments(call.ToolName, ambiguous);
            LogRefused(_logger, call.ToolName, refusal.RuleId, refusal.Reason);
            return new(GateVerdict.Refused(default, refusal));
        }

        ValueTask<PolicyDecision> deciding;
        try
        {
            deciding = _evaluator.EvaluateAsync(call, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new(Failed(call.ToolName, ex));
        }

        if (!deciding.IsCompletedSuccessfully)
        {
            return DecideAsync(request, deciding, client, cancellationToken);
        }

        // Most calls are decided at once (the in-memory store) and involve no approval: answered without an async frame.
        var decision = deciding.Result;
        return decision.Outcome != PolicyOutcome.RequireApproval && decision.ShadowedOutcome != PolicyOutcome.RequireApproval
            ? new(Conclude(call, decision))
            : DecideAsync(request, new ValueTask<PolicyDecision>(decision), client, cancellationToken);
    }

    private async ValueTask<GateVerdict> DecideAsync(GateCall request, ValueTask<PolicyDecision> deciding, IGateClient client, CancellationToken cancellationToken)
    {
        var call = request.Call;
        try
        {
            var decision = await deciding.ConfigureAwait(false);
            if (decision.Outcome == PolicyOutcome.RequireApproval)
            {
                // Held calls cost nothing; an approved call is decided again, so every limit still applies, counted once.
                var approval = await ApproveAsync(request, decision, client, cancellationToken).ConfigureAwait(false);
                if (approval is not null)
                {
                    return approval;
                }

                decision = await _evaluator.EvaluateAsync(Approved(call), cancellationToken).ConfigureAwait(false);
            }
            else if (decision.ShadowedOutcome == PolicyOutcome.RequireApproval)
            {
                // Shadow mode asks nobody; the call goes ahead and counts as the approved call it would have been,
                // so the shadowed limits see the traffic they would see when enforced.
                decision = await _evaluator.EvaluateAsync(Approved(call), cancellationToken).ConfigureAwait(false);
            }

            return Conclude(call, decision);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            return Failed(call.ToolName, ex);
        }
    }

    private GateVerdict Conclude(ToolCall call, in PolicyDecision decision)
    {
        if (!decision.IsAllowed)
        {
            var refusal = GateRefusal.FromDecision(call.ToolName, decision);
            LogRefused(_logger, call.ToolName, refusal.RuleId, refusal.Reason);
            return GateVerdict.Refused(decision, refusal);
        }

        return GateVerdict.Admitted(decision);
    }

    // Fail closed: a failure while deciding refuses the call.
    private GateVerdict Failed(string toolName, Exception ex)
    {
        LogDecisionFailed(_logger, toolName, ex);
        return GateVerdict.Refused(default, GateRefusal.ForError(toolName));
    }

    /// <summary>
    /// Ends an admitted call: gives its units back when the tool failed, asked for input, or never started; keeps them when
    /// it succeeded, or was cancelled after it started (it may have acted). Idempotent through the lease; never throws.
    /// </summary>
    public ValueTask SettleAsync(GateVerdict verdict, ToolRunOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        return outcome is ToolRunOutcome.Succeeded or ToolRunOutcome.CancelledAfterStart || verdict.Lease is not { } lease
            ? ValueTask.CompletedTask
            : ReleaseAsync(lease);
    }

    private async ValueTask ReleaseAsync(CounterLease lease)
    {
        try
        {
            await lease.ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogReleaseFailed(_logger, ex);
        }
    }

    /// <summary>Null when approved; else the verdict: refused, or ask through an input request.</summary>
    private async ValueTask<GateVerdict?> ApproveAsync(GateCall request, PolicyDecision held, IGateClient client, CancellationToken cancellationToken)
    {
        var call = request.Call;
        if (_approver is { } approver)
        {
            var (approved, reason) = await approver.ApproveAsync(call, held, request.HostContext, cancellationToken).ConfigureAwait(false);
            return approved ? null : Refuse(call, held, RefusalKind.ApprovalDeclined, reason);
        }

        if (_inbox is { } inbox)
        {
            return await ApproveOutOfBandAsync(inbox, request, held, client, cancellationToken).ConfigureAwait(false);
        }

        // A retry of a multi-round-trip request carries the person's answer and the state we signed.
        if (request.ApprovalAnswer is { } answer)
        {
            return await ReadRetryAsync(call, held, answer, request.ApprovalState, cancellationToken).ConfigureAwait(false);
        }

        var features = client.Features;
        var useInputRequests = _route == GateApprovalRoute.InputRequests
            || (_route == GateApprovalRoute.Auto && (features & GateClientFeatures.ServerRequests) == 0);
        if (useInputRequests)
        {
            if ((features & GateClientFeatures.InputRequests) == 0)
            {
                return Refuse(call, held, RefusalKind.ApprovalImpossible, (features & GateClientFeatures.ServerRequests) == 0
                    ? "This client cannot be asked: the server cannot send it a request on this transport (stateless HTTP), and the client does not support multi-round-trip requests."
                    : "This client cannot be asked: the server asks through multi-round-trip requests, and the client does not support them.");
            }

            if ((features & GateClientFeatures.Elicitation) == 0)
            {
                return Refuse(call, held, RefusalKind.ApprovalImpossible, "This client cannot be asked: it did not declare the MCP elicitation capability.");
            }

            if (!TryPrompt(call, held, out var message, out var refused))
            {
                return refused;
            }

            // Nothing was counted for this round: the retry is decided afresh and counted once.
            return GateVerdict.AskForInput(held, ApprovalPrompt.ElicitationParams(call.ToolName, message), _tickets.Issue(call));
        }

        if ((features & GateClientFeatures.ServerRequests) == 0)
        {
            return Refuse(call, held, RefusalKind.ApprovalImpossible, "This client cannot be asked: the server cannot send it a request on this transport (stateless HTTP).");
        }

        if ((features & GateClientFeatures.Elicitation) == 0)
        {
            return Refuse(call, held, RefusalKind.ApprovalImpossible, "This client cannot be asked: it did not declare the MCP elicitation capability.");
        }

        if (!TryPrompt(call, held, out var prompt, out var refusal))
        {
            return refusal;
        }

        using var timeout = new CancellationTokenSource(_approvalTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        JsonElement result;
        try
        {
            result = await client.ElicitAsync(ApprovalPrompt.ElicitationParams(call.ToolName, prompt), linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Refuse(call, held, RefusalKind.ApprovalTimedOut, string.Create(CultureInfo.InvariantCulture, $"Nobody answered the approval request within {_approvalTimeout.TotalSeconds:0.###} s."));
        }
        catch (GateClientException ex)
        {
            return Refuse(call, held, RefusalKind.ApprovalImpossible, "The client could not ask for approval: " + ex.Message);
        }

        return ApprovalPrompt.IsApproved(result, out var kind, out var why) ? null : Refuse(call, held, kind, why);
    }

    private bool TryPrompt(ToolCall call, PolicyDecision held, out string message, out GateVerdict? refused)
    {
        if (ApprovalPrompt.TryCreateMessage(call, held.Reason, out var problem) is { } text)
        {
            message = text;
            refused = null;
            return true;
        }

        message = string.Empty;
        refused = Refuse(call, held, RefusalKind.ApprovalImpossible, problem!);
        return false;
    }

    private async ValueTask<GateVerdict?> ReadRetryAsync(ToolCall call, PolicyDecision held, JsonElement answer, string? state, CancellationToken cancellationToken)
    {
        if (!_tickets.TryCheck(call, state, out var nonce, out var invalid, out var why))
        {
            return Refuse(call, held, invalid, why);
        }

        if (!ApprovalPrompt.IsApproved(answer, out var kind, out why))
        {
            return Refuse(call, held, kind, why);
        }

        // An approval that cannot be recorded as used could be replayed: refused whatever the store failure mode says.
        bool fresh;
        try
        {
            fresh = await _tickets.TryUseUpAsync(_evaluator.CounterStore, nonce, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            LogUseUpFailed(_logger, call.ToolName, ex);
            return Refuse(call, held, RefusalKind.ApprovalImpossible, "The approval could not be recorded as used (the counter store failed), so it is refused.");
        }

        return fresh
            ? null
            : Refuse(call, held, RefusalKind.ApprovalInvalid, "This approval was already used: each approval allows one call. Call the tool again to ask for a new one.");
    }

    private GateVerdict Refuse(ToolCall call, PolicyDecision held, RefusalKind kind, string why)
    {
        var refusal = GateRefusal.ForApproval(call.ToolName, held, kind, why);
        LogRefused(_logger, call.ToolName, refusal.RuleId, why);
        return GateVerdict.Refused(held, refusal);
    }

    private static ToolCall Approved(ToolCall call) => new(call.ToolName, call.Caller, call.Arguments, call.Tool) { IsApproved = true };

    [LoggerMessage(1, LogLevel.Information, "PolicyLayer refused a call of {Tool} by {RuleId}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string tool, string ruleId, string reason);

    [LoggerMessage(2, LogLevel.Error, "PolicyLayer could not decide a call of {Tool}; refused")]
    private static partial void LogDecisionFailed(ILogger logger, string tool, Exception exception);

    [LoggerMessage(3, LogLevel.Error, "PolicyLayer could not record an approval of a call of {Tool} as used; the call is refused")]
    private static partial void LogUseUpFailed(ILogger logger, string tool, Exception exception);

    [LoggerMessage(4, LogLevel.Warning, "PolicyLayer could not give back the units of a failed call")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception);
}

/// <summary>How a <see cref="ToolCallGate"/> asks for approvals.</summary>
internal sealed class ToolCallGateOptions
{
    /// <summary>How the person at the client is reached.</summary>
    public GateApprovalRoute Route { get; init; }

    /// <summary>How long an elicitation waits for an answer; through input requests, how long an approval stays valid.</summary>
    public TimeSpan ApprovalTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The key that signs input-request approval states; null for a random key per process.</summary>
    public ReadOnlyMemory<byte>? SigningKey { get; init; }

    /// <summary>An approver of the host's own, asked instead of the client.</summary>
    public IGateApprover? Approver { get; init; }

    /// <summary>The out-of-band approvals inbox, asked instead of the client (after <see cref="Approver"/>).</summary>
    public ApprovalInbox? Inbox { get; init; }
}
