using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace PolicyLayer.Gateway;

/// <summary>
/// The webhook approver's callback: an answer is taken only when it is signed with the shared secret, its timestamp is
/// within the allowed skew, and its signature has not been seen before (a replay is refused even before the record,
/// which takes one answer anyway, is read). A forged or replayed callback changes nothing.
/// </summary>
internal sealed class WebhookCallback
{
    /// <summary>The longest callback body, in bytes.</summary>
    internal const int MaxBodyBytes = 16 * 1024;

    private const int MaxDecidedByLength = 200;

    private readonly byte[] _key;
    private readonly TimeSpan _skew;
    private readonly int _maxRemembered;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);

    public WebhookCallback(WebhookApproverOptions options, TimeProvider time)
    {
        _key = Encoding.UTF8.GetBytes(options.Secret!);
        _skew = options.MaxClockSkew;
        _maxRemembered = options.MaxRememberedCallbacks;
        _time = time;
    }

    public async Task HandleAsync(HttpContext context, ApprovalInbox inbox)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = MaxBodyBytes;
        }

        var body = await ReadBodyAsync(context.Request, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            await PolicyLayerApprovalsEndpointRouteBuilderExtensions.ReplyAsync(context, StatusCodes.Status413PayloadTooLarge, "too_large", $"The callback body is longer than {MaxBodyBytes} bytes.").ConfigureAwait(false);
            return;
        }

        if (Check(context.Request.Headers, body) is { } refused)
        {
            await PolicyLayerApprovalsEndpointRouteBuilderExtensions.ReplyAsync(context, refused.Status, refused.Result, refused.Message).ConfigureAwait(false);
            return;
        }

        if (!TryRead(body, out var id, out var approve, out var decidedBy, out var note, out var problem))
        {
            await PolicyLayerApprovalsEndpointRouteBuilderExtensions.ReplyAsync(context, StatusCodes.Status400BadRequest, "invalid", problem!).ConfigureAwait(false);
            return;
        }

        if (note is { } text && text.Length > inbox.MaxNoteLength)
        {
            await PolicyLayerApprovalsEndpointRouteBuilderExtensions.ReplyAsync(context, StatusCodes.Status400BadRequest, "note_too_long", $"The note has {text.Length} characters; at most {inbox.MaxNoteLength} are allowed.").ConfigureAwait(false);
            return;
        }

        var result = await inbox.DecideAsync(id!, approve, "webhook:" + decidedBy, note, context.RequestAborted).ConfigureAwait(false);
        await PolicyLayerApprovalsEndpointRouteBuilderExtensions.ReplyAsync(context, result).ConfigureAwait(false);
    }

    /// <summary>Null when the signature, the timestamp and the freshness hold (the signature is then remembered); else why not.</summary>
    internal (int Status, string Result, string Message)? Check(IHeaderDictionary headers, byte[] body)
    {
        var signature = headers[WebhookSignature.SignatureHeader].ToString();
        if (signature.Length == 0 || !long.TryParse(headers[WebhookSignature.TimestampHeader].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
        {
            return (StatusCodes.Status401Unauthorized, "unsigned", $"The callback needs the {WebhookSignature.SignatureHeader} and {WebhookSignature.TimestampHeader} headers.");
        }

        if (!WebhookSignature.Matches(_key, timestamp, body, signature))
        {
            return (StatusCodes.Status401Unauthorized, "bad_signature", "The callback's signature does not match its body and timestamp.");
        }

        var now = _time.GetUtcNow();
        DateTimeOffset sent;
        try
        {
            sent = DateTimeOffset.FromUnixTimeSeconds(timestamp);
        }
        catch (ArgumentOutOfRangeException)
        {
            sent = DateTimeOffset.MinValue;
        }

        if (sent < now - _skew || sent > now + _skew)
        {
            return (StatusCodes.Status401Unauthorized, "stale", $"The callback's timestamp is more than {_skew.TotalSeconds:0} s from the server's clock.");
        }

        lock (_lock)
        {
            if (_seen.Count >= _maxRemembered)
            {
                List<string>? gone = null;
                foreach (var (seen, until) in _seen)
                {
                    if (until <= now)
                    {
                        (gone ??= []).Add(seen);
                    }
                }

                gone?.ForEach(s => _seen.Remove(s));
                if (_seen.Count >= _maxRemembered)
                {
                    return (StatusCodes.Status503ServiceUnavailable, "busy", "Too many callbacks in the replay window; try again later.");
                }
            }

            // A signature is remembered as long as its timestamp is acceptable, and refused as a replay meanwhile.
            if (!_seen.TryAdd(signature, sent + _skew))
            {
                return (StatusCodes.Status409Conflict, "replayed", "This callback was received already; each signed callback is taken once.");
            }
        }

        return null;
    }

    private static bool TryRead(byte[] body, out string? id, out bool approve, out string? decidedBy, out string? note, out string? problem)
    {
        id = decidedBy = note = problem = null;
        approve = false;
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 4 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "The callback body must be a JSON object.";
                return false;
            }

            id = String(root, "id");
            var decision = String(root, "decision");
            decidedBy = String(root, "decidedBy");
            note = String(root, "note");
            if (id is null || decision is not ("approve" or "deny") || string.IsNullOrWhiteSpace(decidedBy) || decidedBy.Length > MaxDecidedByLength)
            {
                problem = $"The callback body needs \"id\", \"decision\" (\"approve\" or \"deny\") and \"decidedBy\" (at most {MaxDecidedByLength} characters) as strings; \"note\" is optional.";
                return false;
            }

            approve = decision == "approve";
            return true;
        }
        catch (JsonException ex)
        {
            problem = "The callback body is not valid JSON: " + ex.Message;
            return false;
        }
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (copy.Length + read > MaxBodyBytes)
            {
                return null;
            }

            copy.Write(buffer, 0, read);
        }

        return copy.ToArray();
    }
}
