using Microsoft.Extensions.Logging;

namespace PolicyLayer.Diagnostics;

/// <summary>
/// The structured log events of decisions and policy reloads. Event ids are stable: hosts filter and alert on them.
/// Ids 2 (evaluation failed) and 3 (fail-open) are logged by the evaluator itself.
/// </summary>
/// <remarks>
/// Every decision event carries the tool, the rule, the policy's revision, the risk category, the scope kinds of the counters the call
/// counted against, the call's arguments (their keys only, unless the host opted in to values) and the duration.
/// </remarks>
internal static partial class PolicyLayerLog
{
    /// <summary>The logger category of decisions; the evaluator's own failure events share it.</summary>
    public const string EvaluatorCategory = "PolicyLayer.PolicyEvaluator";

    /// <summary>The logger category of policy-file reloads.</summary>
    public const string ReloadCategory = "PolicyLayer.PolicyReload";

    [LoggerMessage(EventId = 1, EventName = "DecisionAllowed", Level = LogLevel.Debug,
        Message = "Allowed {ToolName} by {RuleId} (policy {PolicyRevision}); risk {RiskCategory}, counters {ScopeKinds}, arguments {Arguments}, {DurationMs} ms.")]
    public static partial void Allowed(ILogger logger, string toolName, string ruleId, string policyRevision, string riskCategory, string scopeKinds, string arguments, double durationMs);

    [LoggerMessage(EventId = 4, EventName = "DecisionDenied", Level = LogLevel.Information,
        Message = "Denied {ToolName} by {RuleId} (policy {PolicyRevision}): {Reason} Risk {RiskCategory}, counters {ScopeKinds}, arguments {Arguments}, {DurationMs} ms.")]
    public static partial void Denied(ILogger logger, string toolName, string ruleId, string policyRevision, string reason, string riskCategory, string scopeKinds, string arguments, double durationMs);

    [LoggerMessage(EventId = 5, EventName = "DecisionApprovalRequired", Level = LogLevel.Information,
        Message = "Approval required for {ToolName} by {RuleId} (policy {PolicyRevision}): {Reason} Risk {RiskCategory}, counters {ScopeKinds}, arguments {Arguments}, {DurationMs} ms.")]
    public static partial void ApprovalRequired(ILogger logger, string toolName, string ruleId, string policyRevision, string reason, string riskCategory, string scopeKinds, string arguments, double durationMs);

    [LoggerMessage(EventId = 6, EventName = "ShadowDenied", Level = LogLevel.Information,
        Message = "Shadow mode: {ToolName} would have been denied by {RuleId} (policy {PolicyRevision}) and goes ahead: {Reason} Risk {RiskCategory}, counters {ScopeKinds}, arguments {Arguments}, {DurationMs} ms.")]
    public static partial void ShadowDenied(ILogger logger, string toolName, string ruleId, string policyRevision, string reason, string riskCategory, string scopeKinds, string arguments, double durationMs);

    [LoggerMessage(EventId = 7, EventName = "ShadowApprovalRequired", Level = LogLevel.Information,
        Message = "Shadow mode: {ToolName} would have needed approval by {RuleId} (policy {PolicyRevision}) and goes ahead: {Reason} Risk {RiskCategory}, counters {ScopeKinds}, arguments {Arguments}, {DurationMs} ms.")]
    public static partial void ShadowApprovalRequired(ILogger logger, string toolName, string ruleId, string policyRevision, string reason, string riskCategory, string scopeKinds, string arguments, double durationMs);

    [LoggerMessage(EventId = 8, EventName = "ShadowAllowed", Level = LogLevel.Debug,
        Message = "Shadow mode: {ToolName} allowed by {RuleId} (policy {PolicyRevision}); risk {RiskCategory}, counters {ScopeKinds}, arguments {Arguments}, {DurationMs} ms.")]
    public static partial void ShadowAllowed(ILogger logger, string toolName, string ruleId, string policyRevision, string riskCategory, string scopeKinds, string arguments, double durationMs);

    [LoggerMessage(EventId = 10, EventName = "PolicyReloaded", Level = LogLevel.Information,
        Message = "Policy file {PolicyPath} reloaded: the new version (revision {PolicyRevision}) is in force.")]
    public static partial void Reloaded(ILogger logger, string policyPath, string policyRevision);

    [LoggerMessage(EventId = 11, EventName = "PolicyReloadRejected", Level = LogLevel.Error,
        Message = "Policy file {PolicyPath} was not reloaded: it has {ErrorCount} error(s); the last good version stays in force.{Errors}")]
    public static partial void ReloadRejected(ILogger logger, string policyPath, int errorCount, string errors);

    [LoggerMessage(EventId = 12, EventName = "PolicyFileUnreadable", Level = LogLevel.Warning,
        Message = "Policy file {PolicyPath} could not be read; the last good version stays in force and the file is tried again.")]
    public static partial void Unreadable(ILogger logger, Exception exception, string policyPath);

    [LoggerMessage(EventId = 13, EventName = "PolicyFileMissing", Level = LogLevel.Warning,
        Message = "Policy file {PolicyPath} is missing; the last good version stays in force until it comes back.")]
    public static partial void Missing(ILogger logger, string policyPath);

    [LoggerMessage(EventId = 14, EventName = "PolicyReplaced", Level = LogLevel.Information,
        Message = "The policy was replaced through the options ({Source}).")]
    public static partial void Replaced(ILogger logger, string source);

    [LoggerMessage(EventId = 16, EventName = "PolicyReloadListenerFailed", Level = LogLevel.Warning,
        Message = "Policy file {PolicyPath} was reloaded and the new version is in force, but a listener of the reload failed.")]
    public static partial void ReloadListenerFailed(ILogger logger, Exception exception, string policyPath);

    [LoggerMessage(EventId = 15, EventName = "PolicyModeChanged", Level = LogLevel.Warning,
        Message = "{Option} changed through the options: it is now {Value} for calls that start from now on.")]
    public static partial void ModeChanged(ILogger logger, string option, string value);
}
