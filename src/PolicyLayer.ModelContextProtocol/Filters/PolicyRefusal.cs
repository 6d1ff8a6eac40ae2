using System.Globalization;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;

namespace PolicyLayer.Mcp;

/// <summary>Builds the tool result an agent receives for a refused call.</summary>
internal static class PolicyRefusal
{
    /// <summary>The text every refusal starts with, so agents and people can tell a policy refusal from a tool failure.</summary>
    public const string Prefix = "[POLICY DENIED]";

    public static CallToolResult Create(string toolName, string reason, string ruleId, TimeSpan? retryAfter)
    {
        var retry = retryAfter is { } after
            ? string.Create(CultureInfo.InvariantCulture, $"Retry after {Math.Ceiling(after.TotalSeconds):0} s.")
            : "Do not retry: the same call will be refused again.";
        var text = $"{Prefix} The call of '{toolName}' was refused: {reason} Rule: {ruleId}. {retry}";
        var meta = new JsonObject
        {
            ["ruleId"] = ruleId,
            ["reason"] = reason,
        };
        if (retryAfter is { } r)
        {
            meta["retryAfterSeconds"] = Math.Ceiling(r.TotalSeconds);
        }

        return new CallToolResult
        {
            IsError = true,
            Content = [new TextContentBlock { Text = text }],
            Meta = new JsonObject { ["policylayer/decision"] = meta },
        };
    }

    public static CallToolResult Create(string toolName, in PolicyDecision decision) =>
        Create(toolName, decision.Reason, decision.RuleId, decision.RetryAfter);
}
