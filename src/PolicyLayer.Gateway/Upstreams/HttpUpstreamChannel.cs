using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;

namespace PolicyLayer.Gateway;

/// <summary>
/// The client side of MCP Streamable HTTP, towards an upstream server: each message the gateway writes is one POST;
/// what the server answers (a JSON body, or an event stream of messages) and what it sends on the GET stream is read
/// as the server's output. The session id and protocol version the server chose ride on every later request.
/// </summary>
/// <remarks>
/// Notifications and answers are sent in order (each waits for the server's 202); a request waits only for its
/// response headers when it is the initialize (whose answer carries the session id), so that a slow tool does not hold
/// up the messages behind it. A request the server cannot take (an HTTP error, a broken connection) is answered with a
/// JSON-RPC error under its id, so that the client is never left waiting.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "_stop is cancelled, never disposed: background exchanges read its token until they end, and it holds no timer.")]
internal sealed class HttpUpstreamChannel : IMcpMessageChannel
{
    private const string SessionHeader = "Mcp-Session-Id";
    private const string VersionHeader = "MCP-Protocol-Version";

    private readonly HttpMessageInvoker _http;
    private readonly Uri _endpoint;
    private readonly KeyValuePair<string, string>[] _headers;
    private readonly int _maxMessageBytes;
    // The gateway's server loop resumes on the thread that read the server's message: no thread-pool hop in between.
    private readonly Channel<byte[]> _incoming = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(256) { SingleReader = true, AllowSynchronousContinuations = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly JsonRpcScanner _scanner = new(strict: false);
    private int _openExchanges = 1; // the channel itself holds one until it is completed
    private volatile string? _sessionId;
    private volatile string? _protocolVersion;
    private string? _initializeIdKey;
    private int _listening;
    private int _completed;

    public HttpUpstreamChannel(HttpMessageInvoker http, Uri endpoint, KeyValuePair<string, string>[] headers, int maxMessageBytes)
    {
        _http = http;
        _endpoint = endpoint;
        _headers = headers;
        _maxMessageBytes = maxMessageBytes;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<McpMessageRead> ReadAsync(CancellationToken cancellationToken)
    {
        while (await _incoming.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_incoming.Reader.TryRead(out var message))
            {
                return new McpMessageRead(McpMessageReadStatus.Message, message);
            }
        }

        return new McpMessageRead(McpMessageReadStatus.End, default);
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _completed) != 0)
        {
            throw new ObjectDisposedException(nameof(HttpUpstreamChannel), "The upstream session has ended.");
        }

        // Written by the gateway's one writer at a time, so the scanner is not shared.
        _scanner.Scan(message.Span, out var scanned);
        var body = message.ToArray();
        ReadOnlyMemory<byte>? id = scanned.Kind == MessageKind.Request && scanned.HasUsableId ? body.AsMemory(scanned.IdStart, scanned.IdLength) : null;
        if (scanned.Method == "initialize")
        {
            _initializeIdKey = scanned.IdKey;
        }

        Interlocked.Increment(ref _openExchanges);
        var exchange = ExchangeAsync(body, id, scanned.Method);
        if (id is null || scanned.Method == "initialize")
        {
            await exchange.ConfigureAwait(false);
        }
        else
        {
            _ = exchange;
        }

        if (scanned.Method == "notifications/initialized" && Interlocked.Exchange(ref _listening, 1) == 0)
        {
            _ = ListenAsync();
        }
    }

    public async ValueTask CompleteAsync()
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        if (_sessionId is { } session)
        {
            // MCP's explicit end of a session; a server that does not allow it answers 405, which is fine.
            try
            {
                using var request = NewRequest(HttpMethod.Delete, session);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                using var _ = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                // The server is gone already.
            }
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        ExchangeEnded();
    }

    private async Task ExchangeAsync(byte[] body, ReadOnlyMemory<byte>? id, string? method)
    {
        // Sent with a body that is the exact bytes the gateway decided.
        try
        {
            using var request = NewRequest(HttpMethod.Post, _sessionId);
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            using var response = await _http.SendAsync(request, _stop.Token).ConfigureAwait(false);
            if (method == "initialize" && response.Headers.TryGetValues(SessionHeader, out var sessions))
            {
                _sessionId = sessions.FirstOrDefault();
            }

            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                return;
            }

            if (!response.IsSuccessStatusCode)
            {
                if (response.StatusCode == HttpStatusCode.NotFound && _sessionId is not null)
                {
                    // The server forgot the session: it is over, and so is the gateway's.
                    _incoming.Writer.TryComplete();
                    return;
                }

                await FailAsync(id, $"The upstream server answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}.").ConfigureAwait(false);
                return;
            }

            await ReadBodyAsync(response).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The session ended.
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidDataException or OperationCanceledException)
        {
            await FailAsync(id, "The upstream server could not be reached: " + ex.Message).ConfigureAwait(false);
        }
        finally
        {
            ExchangeEnded();
        }
    }

    /// <summary>The server's GET stream, for what it sends outside any request; a server that has none answers 405.</summary>
    private async Task ListenAsync()
    {
        Interlocked.Increment(ref _openExchanges);
        try
        {
            using var request = NewRequest(HttpMethod.Get, _sessionId, accept: "text/event-stream");
            using var response = await _http.SendAsync(request, _stop.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                await ReadBodyAsync(response).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidDataException or OperationCanceledException)
        {
            // The stream is optional; calls go on without it.
        }
        finally
        {
            ExchangeEnded();
        }
    }

    private async Task ReadBodyAsync(HttpResponseMessage response)
    {
        var stream = await response.Content.ReadAsStreamAsync(_stop.Token).ConfigureAwait(false);
        if (IsEventStream(response.Content.Headers))
        {
            var events = new SseReader(stream, _maxMessageBytes);
            while (await events.ReadAsync(_stop.Token).ConfigureAwait(false) is { } message)
            {
                await OnMessageAsync(message).ConfigureAwait(false);
            }

            return;
        }

        var body = await HttpBody.ReadAsync(stream, response.Content.Headers.ContentLength, _maxMessageBytes, _stop.Token).ConfigureAwait(false)
            ?? throw new InvalidDataException($"The upstream's answer is longer than {_maxMessageBytes} bytes.");
        if (body.Length > 0)
        {
            await OnMessageAsync(body).ConfigureAwait(false);
        }
    }

    private async ValueTask OnMessageAsync(byte[] message)
    {
        if (_protocolVersion is null && _initializeIdKey is not null)
        {
            // The version the server agreed to rides on every later request.
            try
            {
                using var document = JsonDocument.Parse(message);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object
                    && result.TryGetProperty("protocolVersion", out var version) && version.ValueKind == JsonValueKind.String)
                {
                    _protocolVersion = version.GetString();
                }
            }
            catch (JsonException)
            {
                // Not JSON: the gateway drops it.
            }
        }

        await _incoming.Writer.WriteAsync(message, _stop.Token).ConfigureAwait(false);
    }

    private async ValueTask FailAsync(ReadOnlyMemory<byte>? id, string reason)
    {
        if (id is not { } idValue)
        {
            return;
        }

        var error = new MemoryStream();
        using (var json = new Utf8JsonWriter(error))
        {
            json.WriteStartObject();
            json.WriteString("jsonrpc", "2.0");
            json.WritePropertyName("id");
            json.WriteRawValue(idValue.Span, skipInputValidation: true);
            json.WriteStartObject("error");
            json.WriteNumber("code", -32603);
            json.WriteString("message", reason);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        try
        {
            await _incoming.Writer.WriteAsync(error.ToArray(), _stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ChannelClosedException or OperationCanceledException)
        {
            // The session ended meanwhile.
        }
    }

    /// <summary>Whether the answer is an event stream: its Content-Type read as sent, not parsed into a header object per answer.</summary>
    private static bool IsEventStream(HttpContentHeaders headers)
    {
        if (!headers.NonValidated.TryGetValues("Content-Type", out var values) || values.Count != 1)
        {
            return false;
        }

        var type = values.ToString().AsSpan();
        var end = type.IndexOf(';');
        return (end < 0 ? type : type[..end]).Trim().Equals("text/event-stream", StringComparison.OrdinalIgnoreCase);
    }

    private HttpRequestMessage NewRequest(HttpMethod method, string? session, string accept = "application/json, text/event-stream")
    {
        // Headers as text: nothing parsed or built per request.
        var request = new HttpRequestMessage(method, _endpoint);
        request.Headers.TryAddWithoutValidation("Accept", accept);
        if (session is not null)
        {
            request.Headers.TryAddWithoutValidation(SessionHeader, session);
        }

        if (_protocolVersion is { } version)
        {
            request.Headers.TryAddWithoutValidation(VersionHeader, version);
        }

        foreach (var (name, value) in _headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    private void ExchangeEnded()
    {
        // The server's output ends when the session is over and nothing it started is still being read.
        if (Interlocked.Decrement(ref _openExchanges) == 0)
        {
            _incoming.Writer.TryComplete();
        }
    }
}
