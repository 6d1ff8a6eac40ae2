using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace PolicyLayer.Gateway;

/// <summary>
/// MCP Streamable HTTP (2025-06-18) in front of the gateway: POST carries one client message and is answered with
/// JSON, or with an event stream when the server has more to say before the answer; GET opens the stream of what
/// the server sends of its own; DELETE ends the session. <c>Mcp-Session-Id</c> names the session (bound to the
/// credential that opened it), <c>MCP-Protocol-Version</c> is checked when present.
/// </summary>
internal sealed class StreamableHttpEndpoint
{
    public const string SessionHeader = "Mcp-Session-Id";
    public const string VersionHeader = "MCP-Protocol-Version";

    private static readonly string[] SupportedVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

    /// <summary>The scanner that reads a POST's id and method, one per thread: it is not thread-safe, and it keeps its working sets.</summary>
    [ThreadStatic]
    private static JsonRpcScanner? t_scanner;

    private readonly PolicyLayerGatewayOptions _options;
    private readonly GatewaySessions _sessions;
    private readonly GatewayCallers _callers;
    private readonly ILogger _logger;

    public StreamableHttpEndpoint(PolicyLayerGatewayOptions options, GatewaySessions sessions, GatewayCallers callers, ILogger logger)
    {
        _options = options;
        _sessions = sessions;
        _callers = callers;
        _logger = logger;
    }

    /// <remarks>
    /// Not an async method of its own: it returns the task of what answers the request, so that a POST waiting for its
    /// answer is one suspended method, not one per level.
    /// </remarks>
    public Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (!OriginAllowed(request))
        {
            return RefuseAsync(context, StatusCodes.Status403Forbidden, "Forbidden: requests from this Origin are not accepted.");
        }

        if (request.Headers.TryGetValue(VersionHeader, out var version) && !SupportedVersions.Contains(version.ToString(), StringComparer.Ordinal))
        {
            return RefuseAsync(context, StatusCodes.Status400BadRequest, $"Bad Request: unsupported {VersionHeader} '{version}'; supported: {string.Join(", ", SupportedVersions)}.");
        }

        if (_callers.Resolve(context) is not { } caller)
        {
            return ChallengeAsync(context);
        }

        if (HttpMethods.IsPost(request.Method))
        {
            return PostAsync(context, caller);
        }

        if (HttpMethods.IsGet(request.Method))
        {
            return GetAsync(context, caller);
        }

        if (HttpMethods.IsDelete(request.Method))
        {
            return DeleteAsync(context, caller);
        }

        context.Response.Headers.Allow = "GET, POST, DELETE";
        return RefuseAsync(context, StatusCodes.Status405MethodNotAllowed, "Method Not Allowed.");
    }

    /// <summary>The protected-resource metadata (RFC 9728) that a 401 points clients to.</summary>
    public async Task MetadataAsync(HttpContext context, string resourcePath)
    {
        var request = context.Request;
        var resource = $"{request.Scheme}://{request.Host}{request.PathBase}{resourcePath}";
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("resource", resource);
        json.WriteStartArray("authorization_servers");
        foreach (var server in _options.AuthorizationServers)
        {
            json.WriteStringValue(server.ToString());
        }

        json.WriteEndArray();
        json.WriteStartArray("bearer_methods_supported");
        json.WriteStringValue("header");
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private async Task PostAsync(HttpContext context, GatewayCaller caller)
    {
        var (body, tooLong) = await ReadBodyAsync(context.Request, _options.Session.MaxMessageBytes, context.RequestAborted).ConfigureAwait(false);
        var accept = context.Request.Headers.Accept.ToString();
        var acceptsStream = accept.Length == 0 || accept.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) || accept.Contains("*/*", StringComparison.Ordinal);
        // Scanned once, strictly: for the session's checks here, and by the gateway, which takes this scan (IScannedMessage).
        var exchange = tooLong ? new HttpExchange([], tooLong: true, idKey: null, id: null, acceptsStream)
            : new HttpExchange(body, (t_scanner ??= new JsonRpcScanner(strict: true)).Scan(body, out var scanned), scanned, acceptsStream);
        var id = exchange.Id;
        var method = exchange.RequestMethod;

        HttpGatewaySession? session;
        if (context.Request.Headers.TryGetValue(SessionHeader, out var sessionId))
        {
            session = _sessions.Find(sessionId.ToString(), caller);
            if (session is null)
            {
                await RefuseAsync(context, StatusCodes.Status404NotFound, "Not Found: no such session (it ended, or was opened with another credential); start a new one with initialize.").ConfigureAwait(false);
                return;
            }
        }
        else
        {
            if (method != "initialize")
            {
                await RefuseAsync(context, StatusCodes.Status400BadRequest, $"Invalid request: no {SessionHeader} header; a session starts with an initialize request.", id).ConfigureAwait(false);
                return;
            }

            try
            {
                session = await _sessions.StartAsync(caller, context.RequestAborted).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                GatewayLog.SessionNotStarted(_logger, ex.Message);
                await RefuseAsync(context, StatusCodes.Status502BadGateway, "Bad Gateway: the MCP server behind the gateway could not be started or reached.").ConfigureAwait(false);
                return;
            }

            if (session is null)
            {
                context.Response.Headers.RetryAfter = "60";
                await RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, $"Service Unavailable: the gateway has {_options.MaxSessions} sessions open, the most it allows.").ConfigureAwait(false);
                return;
            }

            context.Response.Headers[SessionHeader] = session.Id;
        }

        session.Enter();
        try
        {
            if (!await session.Client.PostAsync(exchange, context.RequestAborted).ConfigureAwait(false))
            {
                await RefuseAsync(context, StatusCodes.Status404NotFound, "Not Found: the session has ended; start a new one with initialize.").ConfigureAwait(false);
                return;
            }

            _sessions.OnPosted();

            // The answer, in this method (one suspended method while it is awaited, not two).
            var response = context.Response;
            var cancellationToken = context.RequestAborted;
            if (!await exchange.WaitToReadAsync(cancellationToken).ConfigureAwait(false) || !exchange.TryRead(out var first))
            {
                // A notification or an answer, accepted.
                response.StatusCode = exchange.TooLong ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status202Accepted;
                return;
            }

            if (first.Final || !exchange.AcceptsStream || (!exchange.AwaitsAnswer && !await exchange.WaitToReadAsync(cancellationToken).ConfigureAwait(false)))
            {
                // One message: plain JSON. A request's answer is 200 (even an error); anything else refused is a 4xx.
                response.StatusCode = exchange.TooLong ? StatusCodes.Status413PayloadTooLarge
                    : exchange.Id is not null ? StatusCodes.Status200OK
                    : StatusCodes.Status400BadRequest;
                response.ContentType = "application/json";
                // With its length, in one write: headers and body leave in one send, with no chunked framing to end after it.
                response.ContentLength = first.Message.Length;
                await response.Body.WriteAsync(first.Message, cancellationToken).ConfigureAwait(false);
                return;
            }

            await StreamAsync(context, exchange, first).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        finally
        {
            session.Client.Abandon(exchange);
            session.Exit();
        }
    }

    /// <summary>More than one message for the POST: an event stream, until the answer (or the end of the exchange).</summary>
    private static async Task StreamAsync(HttpContext context, HttpExchange exchange, OutgoingMessage first)
    {
        var response = context.Response;
        var cancellationToken = context.RequestAborted;
        await StartStreamAsync(context).ConfigureAwait(false);
        await WriteEventAsync(response, first.Message, cancellationToken).ConfigureAwait(false);
        await foreach (var next in exchange.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            await WriteEventAsync(response, next.Message, cancellationToken).ConfigureAwait(false);
            if (next.Final)
            {
                return;
            }
        }
    }

    private async Task GetAsync(HttpContext context, GatewayCaller caller)
    {
        if (!context.Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(context, StatusCodes.Status406NotAcceptable, "Not Acceptable: the GET stream is text/event-stream.").ConfigureAwait(false);
            return;
        }

        if (!context.Request.Headers.TryGetValue(SessionHeader, out var sessionId) || _sessions.Find(sessionId.ToString(), caller) is not { } session)
        {
            await RefuseAsync(context, sessionId.Count == 0 ? StatusCodes.Status400BadRequest : StatusCodes.Status404NotFound, $"The GET stream needs the {SessionHeader} of an open session.").ConfigureAwait(false);
            return;
        }

        if (session.Client.Listen() is not { } listener)
        {
            await RefuseAsync(context, StatusCodes.Status409Conflict, "Conflict: the session has a GET stream open already.").ConfigureAwait(false);
            return;
        }

        session.Enter();
        try
        {
            await StartStreamAsync(context).ConfigureAwait(false);
            await foreach (var message in listener.ReadAllAsync(context.RequestAborted).ConfigureAwait(false))
            {
                await WriteEventAsync(context.Response, message.Message, context.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client closed the stream.
        }
        finally
        {
            session.Client.Abandon(listener);
            session.Exit();
        }
    }

    private async Task DeleteAsync(HttpContext context, GatewayCaller caller)
    {
        if (!context.Request.Headers.TryGetValue(SessionHeader, out var sessionId) || _sessions.Find(sessionId.ToString(), caller) is not { } session)
        {
            await RefuseAsync(context, sessionId.Count == 0 ? StatusCodes.Status400BadRequest : StatusCodes.Status404NotFound, $"DELETE needs the {SessionHeader} of an open session.").ConfigureAwait(false);
            return;
        }

        await session.EndAsync("the client ended it").ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static async Task ChallengeAsync(HttpContext context)
    {
        var request = context.Request;
        var metadata = $"{request.Scheme}://{request.Host}/.well-known/oauth-protected-resource{request.PathBase}{request.Path}";
        context.Response.Headers.WWWAuthenticate = $"Bearer resource_metadata=\"{metadata}\"";
        await RefuseAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized: send Authorization: Bearer with a grant token or a valid token of the gateway's issuer.").ConfigureAwait(false);
    }

    private bool OriginAllowed(HttpRequest request)
    {
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }

        if (_options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
        {
            return true;
        }

        return Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    private static async ValueTask<(byte[] Body, bool TooLong)> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            // The gateway's own limit applies, and a longer body is refused without being held.
            size.MaxRequestBodySize = null;
        }

        var body = await HttpBody.ReadAsync(request.Body, request.ContentLength, limit, cancellationToken).ConfigureAwait(false);
        return body is null ? ([], true) : (body, false);
    }

    private static Task StartStreamAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache,no-store";
        response.Headers.ContentEncoding = "identity";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        return response.Body.FlushAsync(context.RequestAborted);
    }

    private static async Task WriteEventAsync(HttpResponse response, byte[] message, CancellationToken cancellationToken)
    {
        // The gateway writes each message on one line, so it is one data line.
        var writer = response.BodyWriter;
        writer.Write("event: message\ndata: "u8);
        writer.Write(message);
        writer.Write("\n\n"u8);
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task RefuseAsync(HttpContext context, int status, string message, ReadOnlyMemory<byte>? id = null)
    {
        // The body is a JSON-RPC error, with the request's id when there is one to answer.
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(response.Body);
        json.WriteStartObject();
        json.WriteString("jsonrpc", "2.0");
        if (id is null)
        {
            json.WriteNull("id");
        }
        else
        {
            json.WritePropertyName("id");
            json.WriteRawValue(id.Value.Span, skipInputValidation: true);
        }

        json.WriteStartObject("error");
        json.WriteNumber("code", id is not null ? -32600 : status == StatusCodes.Status401Unauthorized ? -32001 : -32000);
        json.WriteString("message", message);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
