using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>
/// One line of the audit log. <paramref name="Outcome"/> is the policy's verdict; when <paramref name="Shadowed"/>, it is
/// the outcome that would have applied, and the call went ahead regardless.
/// </summary>
internal readonly record struct AuditEntry(
    string Tool,
    ReadOnlyMemory<byte> Id,
    string? Agent,
    PolicyOutcome Outcome,
    string Rule,
    string Reason,
    TimeSpan? RetryAfter,
    IReadOnlyDictionary<string, JsonElement>? Arguments,
    string? Approval = null,
    bool Shadowed = false);
