using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>The answers the gateway itself gives the client: JSON-RPC errors, and refusals as tool results.</summary>
internal sealed class ClientReplies(PeerWriter toClient)
{
    public const int ParseErrorCode = -32700;
    public const int InvalidRequestCode = -32600;
    public const int InvalidParamsCode = -32602;
    public const int InternalErrorCode = -32603;

    /// <summary>A JSON-RPC error; <paramref name="id"/> empty means <c>null</c> (the request's id could not be read).</summary>
    public ValueTask SendErrorAsync(ReadOnlyMemory<byte> id, int code, string message) =>
        toClient.WriteAsync((id, code, message), static (json, state) => WriteError(json, state.id, state.code, state.message));

    public ValueTask SendDeniedAsync(ReadOnlyMemory<byte> id, in PolicyDecision decision, string? because) =>
        SendDeniedAsync(id, decision.Reason, decision.RuleId, decision.RetryAfter, because);

    public ValueTask SendDeniedAsync(ReadOnlyMemory<byte> id, string reason, string ruleId, TimeSpan? retryAfter, string? because)
    {
        var text = DeniedText(reason, ruleId, retryAfter, because);
        return toClient.WriteAsync((id, text), static (json, state) =>
        {
            json.WriteStartObject();
            json.WriteString("jsonrpc", "2.0");
            WriteId(json, state.id);
            json.WriteStartObject("result");
            json.WriteStartArray("content");
            json.WriteStartObject();
            json.WriteString("type", "text");
            json.WriteString("text", state.text);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteBoolean("isError", true);
            json.WriteEndObject();
            json.WriteEndObject();
        });
    }

    /// <summary>Errors for the requests of a refused batch, in one JSON array.</summary>
    public ValueTask SendBatchErrorsAsync(List<ReadOnlyMemory<byte>> ids, int code, string message) =>
        toClient.WriteAsync((ids, code, message), static (json, state) =>
        {
            json.WriteStartArray();
            foreach (var id in state.ids)
            {
                WriteError(json, id, state.code, state.message);
            }

            json.WriteEndArray();
        });

    /// <summary>The text of a refusal: <c>[POLICY DENIED] reason (rule id; retry after N s)</c>.</summary>
    internal static string DeniedText(string reason, string ruleId, TimeSpan? retryAfter, string? because)
    {
        var text = new StringBuilder("[POLICY DENIED] ").Append(reason);
        if (because is not null)
        {
            text.Append(' ').Append(because);
        }

        text.Append(" (rule ").Append(ruleId);
        if (retryAfter is { } retry)
        {
            text.Append(CultureInfo.InvariantCulture, $"; retry after {Math.Max(1, (long)Math.Ceiling(retry.TotalSeconds))} s");
        }

        return text.Append(')').ToString();
    }

    private static void WriteError(Utf8JsonWriter json, ReadOnlyMemory<byte> id, int code, string message)
    {
        json.WriteStartObject();
        json.WriteString("jsonrpc", "2.0");
        WriteId(json, id);
        json.WriteStartObject("error");
        json.WriteNumber("code", code);
        json.WriteString("message", message);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Writes the id exactly as the client wrote it, so that the client matches it whatever its type or size.</summary>
    internal static void WriteId(Utf8JsonWriter json, ReadOnlyMemory<byte> id)
    {
        json.WritePropertyName("id");
        if (id.IsEmpty)
        {
            json.WriteNullValue();
        }
        else
        {
            json.WriteRawValue(id.Span, skipInputValidation: true);
        }
    }
}
