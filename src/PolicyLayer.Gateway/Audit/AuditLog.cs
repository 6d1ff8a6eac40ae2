using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>
/// Writes one JSON line per decision (the format is docs/audit.schema.json): when, which session, agent, user and grant,
/// the tool and its risk, the outcome and its kind (and whether shadow mode let the call through regardless), the rule,
/// the revision of the policy that decided, the reason, the budgets the call reserved, and the names of the arguments.
/// Argument values only when the host opts in (<see cref="AuditArguments"/>) (they may hold secrets or personal data), with
/// the redacted ones replaced. Never a credential: the grant is an id, tokens never reach the gate.
/// </summary>
internal sealed class AuditLog(TextWriter writer, TimeProvider time, string sessionId, AuditArguments? arguments = null)
{
    /// <summary>The audit line format's version, the <c>v</c> field; bumped when a field changes meaning.</summary>
    public const int FormatVersion = 1;

    /// <summary>What replaces a redacted argument value.</summary>
    public const string Redacted = "[redacted]";

    private readonly Lock _lock = new();
    private readonly AuditArguments? _arguments = arguments;

    public void Write(in AuditEntry entry)
    {
        using var buffer = new MemoryStream(256);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            var caller = entry.Call.Caller;
            json.WriteStartObject();
            json.WriteNumber("v", FormatVersion);
            json.WriteString("time", time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("session", caller.SessionId ?? sessionId);
            WriteOptional(json, "agent", caller.AgentId);
            WriteOptional(json, "user", caller.UserId);
            WriteOptional(json, "grant", caller.GrantId);
            json.WritePropertyName("id");
            if (entry.Id.IsEmpty)
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteRawValue(entry.Id.Span, skipInputValidation: true);
            }

            json.WriteString("tool", entry.Call.ToolName);
            if (entry.Risk is { } risk)
            {
                json.WriteString("risk", Evaluation.PolicyExplainer.CategoryName(risk.Category));
            }

            json.WriteString("outcome", OutcomeName(entry.Outcome));
            json.WriteString("kind", entry.Kind);
            json.WriteBoolean("shadowed", entry.Shadowed);
            json.WriteString("rule", entry.Rule);
            WriteOptional(json, "policyRevision", entry.PolicyRevision);
            json.WriteString("reason", entry.Reason);
            if (entry.RetryAfter is { } retry)
            {
                json.WriteNumber("retryAfterSeconds", Math.Round(retry.TotalSeconds, 3));
            }

            WriteOptional(json, "approval", entry.Approval);
            if (entry.ApprovalId is { } approvalId)
            {
                json.WriteString("approvalId", approvalId);
            }

            if (entry.DecidedBy is { } decidedBy)
            {
                json.WriteString("decidedBy", decidedBy);
            }

            if (entry.Counters.Count > 0)
            {
                json.WriteStartArray("counters");
                foreach (var budget in entry.Counters)
                {
                    json.WriteStartObject();
                    json.WriteString("name", budget.Counter.Name);
                    json.WriteString("scope", CounterScopeNames.Name(budget.Counter.Scope));
                    json.WriteNumber("reserved", budget.Reserved);
                    json.WriteNumber("remaining", budget.Remaining);
                    json.WriteNumber("max", budget.Counter.Max);
                    json.WriteNumber("windowSeconds", budget.Counter.Window.TotalSeconds);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            var values = entry.Call.Arguments;
            json.WriteStartArray("argumentKeys");
            if (values is not null)
            {
                foreach (var key in values.Keys)
                {
                    json.WriteStringValue(key);
                }
            }

            json.WriteEndArray();
            if (_arguments is not null)
            {
                json.WritePropertyName("arguments");
                _arguments.Write(json, values);
            }

            json.WriteEndObject();
        }

        var line = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        lock (_lock)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    internal static string OutcomeName(PolicyOutcome outcome) => outcome switch
    {
        PolicyOutcome.Allow => "allow",
        PolicyOutcome.RequireApproval => "require_approval",
        _ => "deny",
    };

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
