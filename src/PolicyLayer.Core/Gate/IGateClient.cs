using System.Text.Json;

namespace PolicyLayer.Gate;

/// <summary>
/// The client of one tools/call, as the gate needs it: what it can do, and how to put an approval request to the person
/// behind it. Each host implements it over its own transport (the SDK's session, a relay's connection).
/// </summary>
internal interface IGateClient
{
    /// <summary>What the client and the transport between it and the host can do, for this call.</summary>
    GateClientFeatures Features { get; }

    /// <summary>
    /// Sends an <c>elicitation/create</c> request with <paramref name="parameters"/> and returns the client's result
    /// (<c>{"action": ..., "content": {...}}</c>). Throws <see cref="GateClientException"/> when the client answers with an error.
    /// </summary>
    /// <param name="parameters">The request's params, made by <see cref="ApprovalPrompt"/>.</param>
    /// <param name="cancellationToken">Cancelled when the call is cancelled or the approval times out.</param>
    ValueTask<JsonElement> ElicitAsync(JsonElement parameters, CancellationToken cancellationToken);

    /// <summary>Whether the client asked for progress notifications on this call (its request carries a progress token).</summary>
    bool CanReportProgress => false;

    /// <summary>
    /// Told by the gate what became of a call's approval in the approvals inbox, for the host's audit: <c>accepted</c> (a
    /// person approved it and this call spends the approval), <c>declined</c>, <c>timed_out</c>, <c>pending</c> (refused
    /// with the record's id to retry with), <c>invalid</c> (an approval id that is unknown, for another call or used) or
    /// <c>impossible</c> (the call could not be held). <paramref name="record"/> is the inbox's record, when there is one
    /// for this call.
    /// </summary>
    void ApprovalEnded(string outcome, ApprovalRecord? record)
    {
    }

    /// <summary>
    /// Sends the client a <c>notifications/progress</c> for this call, so that its request stays alive while the call waits
    /// for an out-of-band approval. Does nothing when <see cref="CanReportProgress"/> is false.
    /// </summary>
    /// <param name="progress">A number that grows with each notification.</param>
    /// <param name="message">What the call waits for.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    ValueTask ReportProgressAsync(double progress, string message, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>What a client can do, as far as approvals go.</summary>
[Flags]
internal enum GateClientFeatures
{
    /// <summary>Nothing: approvals are refused.</summary>
    None = 0,

    /// <summary>The client declared the elicitation capability (form mode).</summary>
    Elicitation = 1,

    /// <summary>The transport can carry a request from the server to the client while a call is held (stdio, stateful HTTP; not stateless HTTP).</summary>
    ServerRequests = 2,

    /// <summary>The client supports multi-round-trip requests: an input-required result that it answers by retrying the call.</summary>
    InputRequests = 4,
}

/// <summary>The client answered the gate's request with an error, or the request could not be sent.</summary>
internal sealed class GateClientException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GateClientException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>An approver the host supplies in place of asking the client (a chat-ops prompt, a ticket).</summary>
internal interface IGateApprover
{
    /// <summary>Approves or refuses <paramref name="call"/>, held by <paramref name="held"/>; <paramref name="hostContext"/> is the host's own request object.</summary>
    ValueTask<(bool Approved, string Reason)> ApproveAsync(ToolCall call, PolicyDecision held, object? hostContext, CancellationToken cancellationToken);
}

/// <summary>How the gate asks the person at the client.</summary>
internal enum GateApprovalRoute
{
    /// <summary>Elicitation where the transport carries server requests; input requests where it does not.</summary>
    Auto = 0,

    /// <summary>Always an elicitation request while the call is held.</summary>
    Elicitation = 1,

    /// <summary>Always an input-required result, answered by the client's retry.</summary>
    InputRequests = 2,
}

/// <summary>How a call the gate admitted ended, which decides whether its units are given back.</summary>
internal enum ToolRunOutcome
{
    /// <summary>The tool ran and succeeded: the units stay counted.</summary>
    Succeeded,

    /// <summary>The tool reported failure (an error result, an error response, an exception): the units are given back.</summary>
    Failed,

    /// <summary>The tool asked for input and will be called again; the retry is decided afresh, so this round's units are given back.</summary>
    InputRequired,

    /// <summary>The call never reached the tool (cancelled or failed before it): the units are given back.</summary>
    NotStarted,

    /// <summary>The call was cancelled after the tool started: it may have acted, so the units stay counted.</summary>
    CancelledAfterStart,
}
