using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PolicyLayer.Gate;

/// <summary>
/// What the agent reads when a call is refused, for every host: one text and one <c>_meta["policylayer/decision"]</c>
/// object, both built here and nowhere else. The shape is documented in docs/decision.schema.json.
/// </summary>
/// <remarks>
/// The text is <c>[POLICY DENIED] &lt;what happened&gt;: &lt;the policy's reason&gt; [&lt;budget&gt;] Rule: &lt;rule id&gt;. &lt;advice&gt;</c>,
/// with one retry time at most and advice that is true for the kind of refusal.
/// </remarks>
internal sealed class GateRefusal
{
    /// <summary>The text every refusal starts with, so agents and people can tell a policy refusal from a tool failure.</summary>
    public const string Prefix = "[POLICY DENIED]";

    /// <summary>The key of the decision object in a tool result's <c>_meta</c>.</summary>
    public const string MetaKey = "policylayer/decision";

    /// <summary>
    /// How relays should write refusals: without escaping quotes and non-ASCII text that agents read (JSON strings stay
    /// valid; the text goes into no HTML).
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The rule id of a call refused for ambiguous argument names, before the policy is asked.</summary>
    public const string ArgumentsRuleId = "(arguments)";

    /// <summary>The key of the approval id a retried tools/call carries in its <c>_meta</c>, once the approval was given out of band.</summary>
    public const string ApprovalMetaKey = "policylayer/approval";

    private GateRefusal(string toolName, RefusalKind kind, PolicyOutcome outcome, string ruleId, string reason, TimeSpan? retryAfter, long? remaining, string? budget, string? approvalId = null)
    {
        ApprovalId = approvalId;
        ToolName = toolName;
        Kind = kind;
        Outcome = outcome;
        RuleId = ruleId;
        Reason = reason;
        RetryAfterSeconds = retryAfter is { } retry ? Math.Max(1, (long)Math.Ceiling(retry.TotalSeconds)) : null;
        Remaining = remaining;
        Text = BuildText(budget);
    }

    /// <summary>The tool that was called.</summary>
    public string ToolName { get; }

    /// <summary>What happened.</summary>
    public RefusalKind Kind { get; }

    /// <summary>What the policy decided: <see cref="PolicyOutcome.Deny"/>, or <see cref="PolicyOutcome.RequireApproval"/> for a call held for an approval that was not given.</summary>
    public PolicyOutcome Outcome { get; }

    /// <summary>The rule that decided, as in <see cref="PolicyDecision.RuleId"/>.</summary>
    public string RuleId { get; }

    /// <summary>The policy's reason (a rule's own <c>reason</c> whenever it has one), or why approval could not be had.</summary>
    public string Reason { get; }

    /// <summary>For a limit with room later: whole seconds until the call would fit, at least 1.</summary>
    public long? RetryAfterSeconds { get; }

    /// <summary>For a refusal by a limit: the units left in the counter's window.</summary>
    public long? Remaining { get; }

    /// <summary>The revision of the policy that decided (<see cref="PolicyDecision.PolicyRevision"/>); null where no decision was made.</summary>
    public string? PolicyRevision { get; init; }

    /// <summary>For a call waiting in the approvals inbox: the approval id the agent retries with.</summary>
    public string? ApprovalId { get; }

    /// <summary>The text the agent reads.</summary>
    public string Text { get; }

    /// <summary>The refusal of a call the policy refused outright (not held for approval).</summary>
    public static GateRefusal FromDecision(string toolName, in PolicyDecision decision)
    {
        if (decision.Kind == DecisionKind.Limit && decision.BlockedLimit is { } limit)
        {
            return FromLimit(toolName, decision, limit);
        }

        return new GateRefusal(toolName, KindOf(decision), PolicyOutcome.Deny, decision.RuleId, decision.Reason, null, null, null) { PolicyRevision = decision.PolicyRevision };
    }

    /// <summary>The kind of the refusal <see cref="FromDecision"/> makes of <paramref name="decision"/>, without making it.</summary>
    public static RefusalKind KindOf(in PolicyDecision decision) => decision.Kind switch
    {
        DecisionKind.Limit when decision.BlockedLimit is { } limit => limit.IncrementFrom is null ? RefusalKind.RateLimited : RefusalKind.SpendCapReached,
        DecisionKind.Arguments => RefusalKind.InvalidArguments,
        DecisionKind.Failure => RefusalKind.Error,
        _ => RefusalKind.Denied,
    };

    /// <summary>The refusal of a call held for approval that was not approved, with why (<paramref name="why"/>, a sentence).</summary>
    public static GateRefusal ForApproval(string toolName, in PolicyDecision held, RefusalKind kind, string why) =>
        new(toolName, kind, PolicyOutcome.RequireApproval, held.RuleId, why + " Why approval is needed: " + held.Reason, null, null, null) { PolicyRevision = held.PolicyRevision };

    /// <summary>The refusal of a call held in the approvals inbox (<see cref="RefusalKind.ApprovalPending"/>), naming its approval id.</summary>
    public static GateRefusal ForPendingApproval(string toolName, in PolicyDecision held, string approvalId) =>
        new(toolName, RefusalKind.ApprovalPending, PolicyOutcome.RequireApproval, held.RuleId, "It waits in the approvals inbox as " + approvalId + ". Why approval is needed: " + held.Reason, null, null, null, approvalId)
        {
            PolicyRevision = held.PolicyRevision,
        };

    /// <summary>The refusal of a call whose arguments a server could read otherwise than the policy did.</summary>
    public static GateRefusal ForArguments(string toolName, string problem) =>
        new(toolName, RefusalKind.InvalidArguments, PolicyOutcome.Deny, ArgumentsRuleId, problem, null, null, null);

    /// <summary>The refusal of a call that could not be decided (fail closed).</summary>
    public static GateRefusal ForError(string toolName) =>
        new(toolName, RefusalKind.Error, PolicyOutcome.Deny, RuleIds.Error, "The policy could not be evaluated, so the call is refused.", null, null, null);

    private static GateRefusal FromLimit(string toolName, in PolicyDecision decision, Policies.CompiledLimit limit)
    {
        var counter = limit.Counter;
        long? remaining = null;
        foreach (var budget in decision.Counters)
        {
            if (ReferenceEquals(budget.Counter, counter))
            {
                remaining = Math.Max(0, budget.Remaining);
            }
        }

        var per = string.Create(CultureInfo.InvariantCulture, $"{counter.Max} per {Policies.PolicyReaderV1.Format(counter.Window)} per {counter.Scope.Name()}");
        if (limit.IncrementFrom is { } amountPath)
        {
            var unit = amountPath.Text;
            var reason = string.Create(CultureInfo.InvariantCulture, $"Spend cap reached: counter '{counter.Name}' allows {per}, counted from {unit}; this call asks for {decision.BlockedAmount}.");
            var left = remaining is { } r ? string.Create(CultureInfo.InvariantCulture, $"Remaining: {r} ({unit}) of {counter.Max}.") : null;
            return new GateRefusal(toolName, RefusalKind.SpendCapReached, PolicyOutcome.Deny, decision.RuleId, reason, decision.RetryAfter, remaining, left)
            {
                PolicyRevision = decision.PolicyRevision,
            };
        }

        var limited = string.Create(CultureInfo.InvariantCulture, $"Rate limit reached: counter '{counter.Name}' allows {per}.");
        return new GateRefusal(toolName, RefusalKind.RateLimited, PolicyOutcome.Deny, decision.RuleId, limited, decision.RetryAfter, remaining, null)
        {
            PolicyRevision = decision.PolicyRevision,
        };
    }

    private string BuildText(string? budget)
    {
        var what = Kind switch
        {
            RefusalKind.RateLimited => "was rate-limited",
            RefusalKind.SpendCapReached => "was refused",
            RefusalKind.InvalidArguments => "was refused because of its arguments",
            RefusalKind.ApprovalDeclined => "needs a person's approval, which was not given",
            RefusalKind.ApprovalTimedOut => "needs a person's approval, which did not come in time",
            RefusalKind.ApprovalInvalid => "needs a person's approval, and the approval sent was not valid",
            RefusalKind.ApprovalImpossible => "needs a person's approval, which cannot be asked for from this client",
            RefusalKind.ApprovalPending => "needs a person's approval, which has not been given yet",
            RefusalKind.Error => "was refused because the policy could not be evaluated",
            _ => "was denied",
        };
        var text = new StringBuilder(Prefix).Append(" The call of '").Append(ToolName).Append("' ").Append(what).Append(": ").Append(Reason);
        if (budget is not null)
        {
            text.Append(' ').Append(budget);
        }

        text.Append(" Rule: ").Append(RuleId).Append(". ").Append(Advice());
        return text.ToString();
    }

    private string Advice() => Kind switch
    {
        RefusalKind.RateLimited or RefusalKind.SpendCapReached when RetryAfterSeconds is { } seconds =>
            string.Create(CultureInfo.InvariantCulture, $"Retry after {seconds} s."),
        RefusalKind.SpendCapReached => "Do not retry this amount: it is more than the whole budget; a smaller amount may fit.",
        RefusalKind.InvalidArguments => "Fix the arguments and call again.",
        RefusalKind.ApprovalDeclined or RefusalKind.ApprovalTimedOut or RefusalKind.ApprovalInvalid =>
            "Calling again asks for approval again; do so only if the person is expected to approve.",
        RefusalKind.ApprovalImpossible => "Do not retry from this client: it will be refused the same way.",
        RefusalKind.ApprovalPending =>
            "Once a person has approved it, call the tool again with the same arguments and _meta {\"" + ApprovalMetaKey + "\": \"" + ApprovalId + "\"}; until then that call is refused the same way.",
        RefusalKind.Error => "Retry later; the same call may then be decided.",
        _ => "Do not retry: the same call will be refused again.",
    };

    /// <summary>The <c>kind</c> field's value.</summary>
    public static string KindName(RefusalKind kind) => kind switch
    {
        RefusalKind.Denied => "denied",
        RefusalKind.InvalidArguments => "invalid_arguments",
        RefusalKind.RateLimited => "rate_limited",
        RefusalKind.SpendCapReached => "spend_cap_reached",
        RefusalKind.ApprovalDeclined => "approval_declined",
        RefusalKind.ApprovalTimedOut => "approval_timed_out",
        RefusalKind.ApprovalInvalid => "approval_invalid",
        RefusalKind.ApprovalImpossible => "approval_impossible",
        RefusalKind.ApprovalPending => "approval_pending",
        _ => "error",
    };

    /// <summary>Writes the <c>policylayer/decision</c> object.</summary>
    public void WriteDecision(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("outcome", Outcome == PolicyOutcome.RequireApproval ? "require_approval" : "deny");
        json.WriteString("kind", KindName(Kind));
        json.WriteString("ruleId", RuleId);
        json.WriteString("reason", Reason);
        if (RetryAfterSeconds is { } retry)
        {
            json.WriteNumber("retryAfterSeconds", retry);
        }

        if (Remaining is { } remaining)
        {
            json.WriteNumber("remaining", remaining);
        }

        if (ApprovalId is { } approvalId)
        {
            json.WriteString("approvalId", approvalId);
        }

        if (PolicyRevision is { } revision)
        {
            json.WriteString("policyRevision", revision);
        }

        json.WriteEndObject();
    }

    /// <summary>Writes the whole tools/call result: one text block, <c>isError: true</c>, and <c>_meta</c>. For relays.</summary>
    public void WriteToolResult(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartArray("content");
        json.WriteStartObject();
        json.WriteString("type", "text");
        json.WriteString("text", Text);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteBoolean("isError", true);
        json.WritePropertyName("_meta");
        WriteMeta(json);
        json.WriteEndObject();
    }

    /// <summary>Writes the <c>_meta</c> object: <c>{"policylayer/decision": {...}}</c>.</summary>
    public void WriteMeta(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WritePropertyName(MetaKey);
        WriteDecision(json);
        json.WriteEndObject();
    }

    /// <summary>The <c>_meta</c> object as a node, for hosts that build results from the SDK's types.</summary>
    public JsonObject MetaNode()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteMeta(json);
        }

        return JsonNode.Parse(buffer.WrittenSpan)!.AsObject();
    }

}
