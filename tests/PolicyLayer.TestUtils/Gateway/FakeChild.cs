using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace PolicyLayer.TestUtils.Gateway;

/// <summary>
/// A scripted MCP server on the far side of the gateway: records every line it receives, answers initialize,
/// tools/list and tools/call, and echoes each request's id exactly as it arrived.
/// </summary>
public sealed class FakeChild
{
    private readonly StreamReader _input;
    private readonly Stream _output;
    private readonly Lock _writeLock = new();

    private readonly RecordingStream _recording;

    public FakeChild(Stream input, Stream output)
    {
        _recording = new RecordingStream(input);
        _input = new StreamReader(_recording, new UTF8Encoding(false));
        _output = output;
        Loop = Task.Run(RunAsync);
    }

    /// <summary>
    /// Every line the child received, in order, as the C# SDK frames them (<see cref="StreamReader.ReadLineAsync()"/>:
    /// a line ends at CR, LF or CRLF).
    /// </summary>
    public ConcurrentQueue<string> Received { get; } = new();

    /// <summary>The tools/list result's tools, as JSON objects.</summary>
    public string[] Tools { get; set; } = [];

    /// <summary>Tools whose calls answer with a result that has isError: true.</summary>
    public HashSet<string> FailingTools { get; } = new(StringComparer.Ordinal);

    /// <summary>Every byte the child received, as it arrived.</summary>
    public byte[] RawReceived => _recording.Recorded;

    /// <summary>Tools whose calls are never answered: they stay in flight.</summary>
    public HashSet<string> SilentTools { get; } = new(StringComparer.Ordinal);

    /// <summary>Methods answered with a JSON-RPC error (method not found), as a server that does not know them.</summary>
    public HashSet<string> UnknownMethods { get; } = new(StringComparer.Ordinal);

    /// <summary>Tools whose calls answer with a JSON-RPC error.</summary>
    public HashSet<string> ErrorTools { get; } = new(StringComparer.Ordinal);

    /// <summary>The capabilities the initialize result declares.</summary>
    public string Capabilities { get; set; } = """{"tools":{"listChanged":true}}""";

    /// <summary>Whether tools/list is answered; a child that never answers it makes the proxy's own tools/list time out.</summary>
    public bool AnswersToolsList { get; set; } = true;

    /// <summary>How many tools/list requests the child answered.</summary>
    public int ToolListRequests => Volatile.Read(ref _toolListRequests);

    private int _toolListRequests;

    public Task Loop { get; }

    /// <summary>The methods of the requests and notifications received.</summary>
    public IEnumerable<string> Methods => Received.Select(MethodOf).Where(m => m is not null)!;

    /// <summary>The tools/call names received.</summary>
    public IEnumerable<string> CalledTools => Received
        .Where(line => MethodOf(line) == "tools/call")
        .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("params").GetProperty("name").GetString()!);

    public void Send(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        lock (_writeLock)
        {
            _output.Write(bytes);
            _output.Flush();
        }
    }

    /// <summary>Ends the child's output, as a server that exits.</summary>
    public void CloseOutput()
    {
        lock (_writeLock)
        {
            _output.Dispose();
        }
    }

    private void Answer(string rawId, string member, string value) =>
        Send("""{"jsonrpc":"2.0","id":""" + rawId + ",\"" + member + "\":" + value + "}");

    private static string? MethodOf(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("method", out var m) ? m.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async Task RunAsync()
    {
        while (await _input.ReadLineAsync() is { } line)
        {
            Received.Enqueue(line);
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException)
            {
                // As the SDK's transports do: a line that is not JSON is skipped.
                continue;
            }

            using var _ = document;
            var root = document.RootElement;
            if (!root.TryGetProperty("method", out var method) || !root.TryGetProperty("id", out var id))
            {
                continue;
            }

            var rawId = id.GetRawText();
            switch (method.GetString())
            {
                case "initialize":
                    Answer(rawId, "result", """{"protocolVersion":"2025-06-18","capabilities":""" + Capabilities + ""","serverInfo":{"name":"fake","version":"1"}}""");
                    break;
                case "tools/list" when !AnswersToolsList:
                    break;
                case "tools/list":
                    Interlocked.Increment(ref _toolListRequests);
                    Answer(rawId, "result", """{"tools":[""" + string.Join(",", Tools) + """],"_meta":{"kept":true}}""");
                    break;
                case { } unknown when UnknownMethods.Contains(unknown):
                    Answer(rawId, "error", """{"code":-32601,"message":"Method not found"}""");
                    break;
                case "tools/call":
                    var name = root.GetProperty("params").GetProperty("name").GetString()!;
                    if (SilentTools.Contains(name))
                    {
                        break;
                    }

                    if (ErrorTools.Contains(name))
                    {
                        Answer(rawId, "error", """{"code":-32000,"message":"broke"}""");
                    }
                    else
                    {
                        var failed = FailingTools.Contains(name) ? "true" : "false";
                        Answer(rawId, "result", "{\"content\":[{\"type\":\"text\",\"text\":\"ran " + name + "\"}],\"isError\":" + failed + "}");
                    }

                    break;
                default:
                    Answer(rawId, "result", """{"echo":""" + JsonSerializer.Serialize(method.GetString()) + "}");
                    break;
            }
        }
    }
}
