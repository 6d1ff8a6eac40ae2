using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace PolicyLayer;

/// <summary>
/// Out-of-band approvals: calls held for a person who is not at the client. The gate records each held call in the
/// <see cref="ApprovalStore"/>, announces it to the notifiers (a webhook), and either keeps the call waiting or
/// refuses it with an approval id (<see cref="ApprovalHoldMode"/>); people answer through <see cref="DecideAsync"/>,
/// which the web inbox (<c>MapPolicyLayerApprovals</c>) and the webhook callback call. One per server; safe from many threads.
/// </summary>
public sealed partial class ApprovalInbox
{
    private readonly IApprovalNotifier[] _notifiers;
    private readonly ApprovalHoldMode _holdMode;
    private readonly Dictionary<string, ApprovalHoldMode> _holdModeByTool;
    private readonly int _maxArgumentBytes;
    private readonly ILogger _logger;

    /// <summary>Creates an inbox.</summary>
    /// <param name="store">Where the records live.</param>
    /// <param name="options">Hold mode, time-out and bounds; null for the defaults.</param>
    /// <param name="notifiers">Who is told of each held call; null for nobody (the inbox page alone).</param>
    /// <param name="timeProvider">The clock of time-outs; null for <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">Logs notifier failures.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public ApprovalInbox(
        ApprovalStore store,
        ApprovalInboxOptions? options = null,
        IEnumerable<IApprovalNotifier>? notifiers = null,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new ApprovalInboxOptions();
        if (Validate(options) is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        Store = store;
        Timeout = options.Timeout;
        ProgressInterval = options.ProgressInterval;
        MaxNoteLength = options.MaxNoteLength;
        _holdMode = options.HoldMode;
        _holdModeByTool = new Dictionary<string, ApprovalHoldMode>(options.HoldModeByTool, StringComparer.Ordinal);
        _maxArgumentBytes = options.MaxArgumentBytes;
        _notifiers = notifiers?.ToArray() ?? [];
        Time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)loggerFactory?.CreateLogger("PolicyLayer.Approvals") ?? NullLogger.Instance;
    }

    /// <summary>Where the records live.</summary>
    public ApprovalStore Store { get; }

    /// <summary>How long a held call waits, and how long its record lives.</summary>
    internal TimeSpan Timeout { get; }

    /// <summary>How often a waiting call sends a progress notification.</summary>
    internal TimeSpan ProgressInterval { get; }

    /// <summary>The longest note an answer may carry, in characters.</summary>
    internal int MaxNoteLength { get; }

    internal TimeProvider Time { get; }

    /// <summary>Lists the records, newest first.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The records, with their status as of now.</returns>
    public ValueTask<IReadOnlyList<ApprovalRecord>> ListAsync(CancellationToken cancellationToken = default) => Store.ListAsync(cancellationToken);

    /// <summary>Answers a held call, once; a waiting call then goes ahead or is refused, and a refused one's retry is allowed once.</summary>
    /// <param name="id">The record's id.</param>
    /// <param name="approve">Approve, or deny.</param>
    /// <param name="decidedBy">Who answers (the authenticated user, the signed callback's sender). Not empty.</param>
    /// <param name="note">An optional note, at most <see cref="MaxNoteLength"/> characters; a denial's note is shown to the agent.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>Whether the answer was recorded, and if not, why.</returns>
    /// <exception cref="ArgumentException">The note is too long, or <paramref name="decidedBy"/> is empty.</exception>
    public ValueTask<ApprovalDecisionResult> DecideAsync(string id, bool approve, string decidedBy, string? note, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentException.ThrowIfNullOrWhiteSpace(decidedBy);
        if (note is { Length: > 0 } && note.Length > MaxNoteLength)
        {
            throw new ArgumentException($"The note has {note.Length} characters; at most {MaxNoteLength} are allowed.", nameof(note));
        }

        return Store.DecideAsync(id, approve, decidedBy, string.IsNullOrWhiteSpace(note) ? null : note, cancellationToken);
    }

    /// <summary>The hold mode for a call of <paramref name="toolName"/>.</summary>
    internal ApprovalHoldMode ModeFor(string toolName) => _holdModeByTool.TryGetValue(toolName, out var mode) ? mode : _holdMode;

    /// <summary>The fingerprint a record for <paramref name="call"/> carries; null when its arguments are too large to hold.</summary>
    internal string? FingerprintOf(ToolCall call) =>
        CanonicalArguments.Write(call.Arguments, _maxArgumentBytes) is { } json ? CanonicalArguments.Fingerprint(call.ToolName, json, call.Caller) : null;

    /// <summary>
    /// Records <paramref name="call"/> as held by <paramref name="held"/> and tells the notifiers. The record, or null
    /// with a problem when it cannot be held (arguments too large, store full).
    /// </summary>
    internal async ValueTask<(ApprovalRecord? Record, string? Problem)> HoldAsync(ToolCall call, PolicyDecision held, CancellationToken cancellationToken)
    {
        if (CanonicalArguments.Write(call.Arguments, _maxArgumentBytes) is not { } arguments)
        {
            return (null, $"its arguments are larger than the {_maxArgumentBytes} bytes the approvals inbox shows whole, so it cannot be held for approval.");
        }

        var now = Time.GetUtcNow();
        var record = new ApprovalRecord
        {
            Id = "apr_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)),
            ToolName = call.ToolName,
            ArgumentsJson = arguments,
            Fingerprint = CanonicalArguments.Fingerprint(call.ToolName, arguments, call.Caller),
            GrantId = call.Caller.GrantId,
            UserId = call.Caller.UserId,
            AgentId = call.Caller.AgentId,
            RuleId = held.RuleId,
            Reason = held.Reason,
            PolicyRevision = held.PolicyRevision,
            CreatedAt = now,
            ExpiresAt = now + Timeout,
            Status = ApprovalStatus.Pending,
        };

        if (!await Store.TryAddAsync(record, cancellationToken).ConfigureAwait(false))
        {
            return (null, "the approvals inbox is full of calls waiting for an answer; answer those first.");
        }

        foreach (var notifier in _notifiers)
        {
            try
            {
                await notifier.NotifyAsync(record, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                LogNotifyFailed(_logger, notifier.GetType().Name, record.Id, ex);
            }
        }

        return (record, null);
    }

    /// <summary>What is wrong with <paramref name="options"/>, naming the option; null when nothing is.</summary>
    internal static string? Validate(ApprovalInboxOptions options)
    {
        static string Must(string option, string what) => $"ApprovalInboxOptions.{option} must be {what}.";

        if (options.Timeout <= TimeSpan.Zero || options.Timeout > TimeSpan.FromDays(1))
        {
            return Must(nameof(options.Timeout), "positive and at most one day");
        }

        if (options.ProgressInterval <= TimeSpan.Zero)
        {
            return Must(nameof(options.ProgressInterval), "positive");
        }

        if (options.MaxArgumentBytes < 1)
        {
            return Must(nameof(options.MaxArgumentBytes), "at least 1");
        }

        if (options.MaxNoteLength < 0)
        {
            return Must(nameof(options.MaxNoteLength), "0 or more");
        }

        if (!Enum.IsDefined(options.HoldMode))
        {
            return Must(nameof(options.HoldMode), "a defined ApprovalHoldMode");
        }

        foreach (var (tool, mode) in options.HoldModeByTool)
        {
            if (!Enum.IsDefined(mode))
            {
                return Must(nameof(options.HoldModeByTool), $"a map to defined ApprovalHoldMode values (the value for '{tool}' is not)");
            }
        }

        return null;
    }

    [LoggerMessage(1, LogLevel.Warning, "PolicyLayer could not tell {Notifier} of the held call {ApprovalId}; it is still in the inbox")]
    private static partial void LogNotifyFailed(ILogger logger, string notifier, string approvalId, Exception exception);
}
