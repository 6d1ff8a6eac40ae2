using System.Text.Json;
using PolicyLayer.Gate;

namespace PolicyLayer.Gateway;

/// <summary>The answers the gateway itself gives the client: JSON-RPC errors, and the gate's refusals as tool results.</summary>
internal sealed class ClientReplies(PeerWriter toClient)
{
    public const int ParseErrorCode = -32700;
    public const int InvalidRequestCode = -32600;
    public const int InvalidParamsCode = -32602;
    public const int InternalErrorCode = -32603;

    /// <summary>A JSON-RPC error; <paramref name="id"/> empty means <c>null</c> (the request's id could not be read).</summary>
    public ValueTask SendErrorAsync(ReadOnlyMemory<byte> id, int code, string message) =>
        toClient.WriteAsync((id, code, message), static (json, state) => WriteError(json, state.id, state.code, state.message));

    /// <summary>A refusal of the gate, as the tools/call's result (text and <c>_meta</c>), under the client's id.</summary>
    public ValueTask SendRefusalAsync(ReadOnlyMemory<byte> id, GateRefusal refusal) =>
        toClient.WriteAsync((id, refusal), static (json, state) =>
        {
            json.WriteStartObject();
            json.WriteString("jsonrpc", "2.0");
            WriteId(json, state.id);
            json.WritePropertyName("result");
            state.refusal.WriteToolResult(json);
            json.WriteEndObject();
        });

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
