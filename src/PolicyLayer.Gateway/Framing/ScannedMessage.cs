using System.Text.Json;

namespace PolicyLayer.Gateway;

/// <summary>
/// The envelope of one JSON-RPC message, read in one pass over the line with <see cref="Utf8JsonReader"/>.
/// Offsets point into the scanned line, which the caller keeps alive while it uses them.
/// </summary>
internal struct ScannedMessage
{
    public MessageKind Kind;

    /// <summary>The id's token type, or <see cref="JsonTokenType.None"/> when the message has no id.</summary>
    public JsonTokenType IdType;

    public int IdStart;
    public int IdLength;

    /// <summary>A key that matches the id however a peer re-serializes it (see <see cref="JsonRpcScanner.IdKey"/>).</summary>
    public string? IdKey;

    public string? Method;

    public JsonTokenType ParamsType;
    public int ParamsStart;
    public int ParamsLength;

    public bool HasResult;
    public bool HasError;

    /// <summary>Whether <c>result.isError</c> is <see langword="true"/>.</summary>
    public bool ResultIsError;

    /// <summary>Why the message was refused, for <see cref="ScanStatus.ParseError"/> and <see cref="ScanStatus.InvalidRequest"/>.</summary>
    public string? Problem;

    /// <summary>Whether the id can be echoed in a response: present once, a string or a number.</summary>
    public readonly bool HasUsableId => IdType is JsonTokenType.String or JsonTokenType.Number;

    public readonly ReadOnlySpan<byte> Id(ReadOnlySpan<byte> line) => HasUsableId ? line.Slice(IdStart, IdLength) : default;

    public readonly ReadOnlyMemory<byte> Params(ReadOnlyMemory<byte> line) => line.Slice(ParamsStart, ParamsLength);
}
