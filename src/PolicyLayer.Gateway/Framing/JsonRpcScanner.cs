using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace PolicyLayer.Gateway;

/// <summary>
/// Reads the JSON-RPC envelope of a line and refuses what a server could read differently from the proxy:
/// duplicate member names (a parser that keeps the last value would see another tool or argument than the
/// policy did), member names that differ only in case, names that are a case variant of an envelope member,
/// invalid UTF-8 and malformed JSON. Not thread-safe: one scanner per reading loop.
/// </summary>
internal sealed class JsonRpcScanner
{
    private readonly bool _strict;
    private readonly bool _namesInPlace;
    private readonly List<Frame> _frames = new(8);
    private readonly Stack<MemberNames> _namePool = new();

    /// <summary>Creates a scanner.</summary>
    /// <param name="strict">
    /// Whether to check the message as hostile input (messages from the client): duplicate and
    /// case-variant names, the envelope's shape. Messages from the child are only read, never refused.
    /// </param>
    public JsonRpcScanner(bool strict)
        : this(strict, namesInPlace: true)
    {
    }

    /// <param name="strict">As above.</param>
    /// <param name="namesInPlace">Whether <see cref="MemberNames"/> may compare short objects' names in place; tests compare both ways.</param>
    internal JsonRpcScanner(bool strict, bool namesInPlace)
    {
        _strict = strict;
        _namesInPlace = namesInPlace;
    }

    /// <summary>The member names the scanner acts on; any other name is <see cref="Other"/>.</summary>
    private enum Member : byte
    {
        Other,
        Jsonrpc,
        Id,
        Method,
        Params,
        Result,
        Error,
        Arguments,
        IsError,
    }

    private enum Role : byte
    {
        Other,
        Root,
        Result,
        Params,

        /// <summary><c>params.arguments</c> and everything inside it.</summary>
        Arguments,
    }

    public ScanStatus Scan(ReadOnlySpan<byte> line, out ScannedMessage message)
    {
        message = default;
        if (!Utf8.IsValid(line))
        {
            message.Problem = "Parse error: the message is not valid UTF-8.";
            return ScanStatus.ParseError;
        }

        try
        {
            return ScanCore(line, ref message);
        }
        catch (JsonException ex)
        {
            message = default;
            message.Problem = "Parse error: " + ex.Message;
            return ScanStatus.ParseError;
        }
        catch (InvalidOperationException ex)
        {
            // GetString on text that is not valid UTF-16 once unescaped, such as a lone surrogate escape.
            message = default;
            message.Problem = "Parse error: " + ex.Message;
            return ScanStatus.ParseError;
        }
        finally
        {
            foreach (var frame in _frames)
            {
                Return(frame.Names);
            }

            _frames.Clear();
        }
    }

    /// <summary>
    /// A key for an id that matches however a peer re-serializes it: strings by their unescaped value,
    /// numbers by their value as a double, as JavaScript peers read them (so <c>1.0</c> matches <c>1</c>).
    /// </summary>
    public static string IdKey(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => "s:" + reader.GetString(),

        // One string per key (no digits string to concatenate): every message with an id makes one.
        JsonTokenType.Number when reader.TryGetInt64(out var whole) => string.Create(CultureInfo.InvariantCulture, $"n:{whole}"),
        JsonTokenType.Number when reader.TryGetDouble(out var value) && double.IsFinite(value) => "n:" + NumberKey(value),
        JsonTokenType.Number => "n:" + Encoding.UTF8.GetString(reader.ValueSpan),
        _ => throw new InvalidOperationException("An id is a string or a number."),
    };

    /// <summary>The key of a string id, as <see cref="IdKey"/> makes it.</summary>
    public static string StringIdKey(string id) => "s:" + id;

    private static string NumberKey(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 9.2e18
            ? ((long)value).ToString(CultureInfo.InvariantCulture)
            : value.ToString("R", CultureInfo.InvariantCulture);

    private ScanStatus ScanCore(ReadOnlySpan<byte> line, ref ScannedMessage message)
    {
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read())
        {
            message.Problem = "Parse error: the line holds no JSON value.";
            return ScanStatus.ParseError;
        }

        var rootType = reader.TokenType;
        if (rootType != JsonTokenType.StartObject)
        {
            // Read to the end so that malformed JSON is a parse error, not an invalid request.
            if (rootType == JsonTokenType.StartArray)
            {
                reader.Skip();
            }

            ExpectEnd(ref reader);
            if (rootType == JsonTokenType.StartArray)
            {
                return ScanStatus.Batch;
            }

            message.Problem = "Invalid request: a JSON-RPC message is a JSON object.";
            return ScanStatus.InvalidRequest;
        }

        string? problem = null;

        // Ambiguous names inside params.arguments: for tools/call the gate refuses the call with a tool result the agent
        // can act on (as every host does); for any other method the message is an invalid request.
        string? argumentsProblem = null;
        var jsonrpcIsTwo = false;
        var idCount = 0;
        _frames.Add(new Frame(Role.Root, RentIfStrict(), IsObject: true));
        var pendingName = Member.Other;

        while (_frames.Count > 0)
        {
            if (!reader.Read())
            {
                throw new JsonException("The JSON ends before its last object or array is closed.");
            }

            var frame = _frames[^1];
            var depthIsRoot = _frames.Count == 1;
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    pendingName = MemberOf(ref reader);
                    // A property name only appears inside an object, whose frame has a list of names. Messages from the
                    // server are only read: their names are matched in place, never checked.
                    if (_strict && frame.Names!.Add(line, ref reader, depthIsRoot) is { } nameProblem)
                    {
                        if (frame.Role == Role.Arguments)
                        {
                            argumentsProblem ??= nameProblem;
                        }
                        else
                        {
                            problem ??= nameProblem;
                        }
                    }

                    continue;

                case JsonTokenType.EndObject:
                case JsonTokenType.EndArray:
                    Return(frame.Names);
                    _frames.RemoveAt(_frames.Count - 1);
                    if (_frames.Count == 1 && frame.RootMember == Member.Params)
                    {
                        message.ParamsLength = (int)reader.BytesConsumed - message.ParamsStart;
                    }

                    pendingName = Member.Other;
                    continue;
            }

            // A value: of a root member, of a result member, or anywhere else.
            var name = frame.IsObject ? pendingName : Member.Other;
            pendingName = Member.Other;
            if (depthIsRoot)
            {
                switch (name)
                {
                    case Member.Jsonrpc:
                        jsonrpcIsTwo = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("2.0"u8);
                        break;
                    case Member.Id:
                        idCount++;
                        message.IdType = reader.TokenType;
                        message.IdStart = (int)reader.TokenStartIndex;
                        if (reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
                        {
                            message.IdLength = (int)reader.BytesConsumed - message.IdStart;
                            message.IdKey = IdKey(ref reader);
                        }

                        break;
                    case Member.Method:
                        message.Method = reader.TokenType == JsonTokenType.String ? MethodOf(ref reader) : null;
                        if (reader.TokenType != JsonTokenType.String)
                        {
                            problem ??= "Invalid request: method must be a string.";
                        }

                        break;
                    case Member.Params:
                        message.ParamsType = reader.TokenType;
                        message.ParamsStart = (int)reader.TokenStartIndex;
                        message.ParamsLength = (int)reader.BytesConsumed - message.ParamsStart;
                        break;
                    case Member.Result:
                        message.HasResult = true;
                        break;
                    case Member.Error:
                        message.HasError = true;
                        break;
                }
            }
            else if (frame.Role == Role.Result && name == Member.IsError && reader.TokenType == JsonTokenType.True)
            {
                message.ResultIsError = true;
            }

            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                var role = depthIsRoot ? name switch { Member.Result => Role.Result, Member.Params => Role.Params, _ => Role.Other }
                    : (frame.Role == Role.Params && name == Member.Arguments) || frame.Role == Role.Arguments ? Role.Arguments
                    : Role.Other;
                var isObject = reader.TokenType == JsonTokenType.StartObject;
                _frames.Add(new Frame(role, isObject ? RentIfStrict() : null, isObject, depthIsRoot ? name : Member.Other));
            }
        }

        ExpectEnd(ref reader);
        if (!_strict)
        {
            message.Kind = message.Method is not null ? (message.IdType == JsonTokenType.None ? MessageKind.Notification : MessageKind.Request) : MessageKind.Response;
            return ScanStatus.Message;
        }

        if (idCount > 1)
        {
            // Which id a server would answer is up to its parser: echo none.
            message.IdType = JsonTokenType.Null;
            message.IdKey = null;
        }

        if (argumentsProblem is not null && !string.Equals(message.Method, "tools/call", StringComparison.Ordinal))
        {
            problem ??= argumentsProblem;
        }

        problem ??= CheckEnvelope(ref message, jsonrpcIsTwo);
        if (problem is not null)
        {
            message.Problem = problem;
            return ScanStatus.InvalidRequest;
        }

        return ScanStatus.Message;
    }

    private static string? CheckEnvelope(ref ScannedMessage message, bool jsonrpcIsTwo)
    {
        if (!jsonrpcIsTwo)
        {
            return "Invalid request: \"jsonrpc\" must be \"2.0\".";
        }

        if (message.IdType is not (JsonTokenType.None or JsonTokenType.String or JsonTokenType.Number))
        {
            return "Invalid request: an id is a string or a number (MCP does not allow null).";
        }

        if (message.Method is not null)
        {
            if (message.HasResult || message.HasError)
            {
                return "Invalid request: a message has either a method or a result or error, not both.";
            }

            message.Kind = message.IdType == JsonTokenType.None ? MessageKind.Notification : MessageKind.Request;
            if (message.ParamsType is not (JsonTokenType.None or JsonTokenType.StartObject))
            {
                return "Invalid request: params must be an object.";
            }

            return null;
        }

        if (message.HasResult == message.HasError)
        {
            return "Invalid request: a message without a method is a response, with exactly one of result and error.";
        }

        if (message.IdType == JsonTokenType.None)
        {
            return "Invalid request: a response carries the id of the request it answers.";
        }

        message.Kind = MessageKind.Response;
        return null;
    }

    private static void ExpectEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException("A line holds one JSON value; more follows it.");
        }
    }

    /// <summary>
    /// The member a property name names, compared with its unescaped text (so <c>"\u0069d"</c> is <c>id</c>, as a parser
    /// reads it), without making a string of it.
    /// </summary>
    private static Member MemberOf(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped)
        {
            return reader.GetString() switch
            {
                "jsonrpc" => Member.Jsonrpc,
                "id" => Member.Id,
                "method" => Member.Method,
                "params" => Member.Params,
                "result" => Member.Result,
                "error" => Member.Error,
                "arguments" => Member.Arguments,
                "isError" => Member.IsError,
                _ => Member.Other,
            };
        }

        var name = reader.ValueSpan;
        return name.Length switch
        {
            2 when name.SequenceEqual("id"u8) => Member.Id,
            5 when name.SequenceEqual("error"u8) => Member.Error,
            6 when name.SequenceEqual("method"u8) => Member.Method,
            6 when name.SequenceEqual("params"u8) => Member.Params,
            6 when name.SequenceEqual("result"u8) => Member.Result,
            7 when name.SequenceEqual("jsonrpc"u8) => Member.Jsonrpc,
            7 when name.SequenceEqual("isError"u8) => Member.IsError,
            9 when name.SequenceEqual("arguments"u8) => Member.Arguments,
            _ => Member.Other,
        };
    }

    /// <summary>The method's name: the same string for the methods of every call, a new one for any other.</summary>
    private static string MethodOf(ref Utf8JsonReader reader) =>
        reader.ValueIsEscaped ? reader.GetString()!
        : reader.ValueSpan.SequenceEqual("tools/call"u8) ? "tools/call"
        : reader.ValueSpan.SequenceEqual("tools/list"u8) ? "tools/list"
        : reader.ValueSpan.SequenceEqual("ping"u8) ? "ping"
        : reader.ValueSpan.SequenceEqual("notifications/progress"u8) ? "notifications/progress"
        : reader.ValueSpan.SequenceEqual("notifications/cancelled"u8) ? "notifications/cancelled"
        : reader.GetString()!;

    private MemberNames? RentIfStrict() => !_strict ? null : _namePool.TryPop(out var names) ? names : new MemberNames(_namesInPlace);

    private void Return(MemberNames? names)
    {
        // A set that grew for one large object is left to the collector rather than kept for the session.
        if (names is not null && names.Count <= 256)
        {
            names.Clear();
            _namePool.Push(names);
        }
    }

    /// <summary>An object or array being read; <see cref="Names"/> (the names read so far) only for an object read strictly.</summary>
    private readonly record struct Frame(Role Role, MemberNames? Names, bool IsObject, Member RootMember = Member.Other);
}
