using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace PolicyLayer.Mcp;

/// <summary>
/// Decides a call that the policy holds for a person's approval. The host may supply its own (a chat-ops
/// prompt, a ticket); the built-in one asks the person at the client through MCP elicitation.
/// </summary>
/// <remarks>
/// After an approval the call is decided again with <see cref="ToolCall.IsApproved"/> set, so every other rule
/// and limit still applies and the call is counted once.
/// </remarks>
public interface IApprovalHandler
{
    /// <summary>Asks for approval of one call.</summary>
    /// <param name="request">The call, the decision that held it, and the MCP request it came in.</param>
    /// <param name="cancellationToken">Cancels the wait, as when the client cancels the request.</param>
    /// <returns>Approved, or refused with the reason the agent is told.</returns>
    ValueTask<ApprovalResult> RequestApprovalAsync(ApprovalRequest request, CancellationToken cancellationToken);
}

/// <summary>A call held for approval.</summary>
public sealed class ApprovalRequest
{
    internal ApprovalRequest(ToolCall call, PolicyDecision decision, RequestContext<CallToolRequestParams> context)
    {
        Call = call;
        Decision = decision;
        Context = context;
    }

    /// <summary>The call: tool, caller, arguments.</summary>
    public ToolCall Call { get; }

    /// <summary>The decision that held the call, with the rule and reason.</summary>
    public PolicyDecision Decision { get; }

    /// <summary>The MCP request, for approvers that talk to the client.</summary>
    public RequestContext<CallToolRequestParams> Context { get; }
}

/// <summary>The answer to an <see cref="ApprovalRequest"/>.</summary>
public readonly struct ApprovalResult
{
    private ApprovalResult(bool isApproved, string reason)
    {
        IsApproved = isApproved;
        Reason = reason;
    }

    /// <summary>Whether the call may go ahead (subject to every other rule and limit).</summary>
    public bool IsApproved { get; }

    /// <summary>Who approved, or why the call was refused; shown to the agent on refusal.</summary>
    public string Reason { get; }

    /// <summary>An approval.</summary>
    /// <param name="reason">Who approved and how, for logs.</param>
    public static ApprovalResult Approved(string reason = "Approved.") => new(true, reason ?? "Approved.");

    /// <summary>A refusal.</summary>
    /// <param name="reason">Why, for the agent.</param>
    public static ApprovalResult Refused(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new(false, reason);
    }
}
