using System.Buffers;
using System.Buffers.Text;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using PolicyLayer;
using PolicyLayer.Gateway;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Serves the approvals inbox: the web page where people approve or deny calls held for approval.</summary>
public static class PolicyLayerApprovalsEndpointRouteBuilderExtensions
{
    /// <summary>The longest form an answer may post, in bytes (the note and the anti-forgery token).</summary>
    private const long MaxFormBytes = 64 * 1024;

    /// <summary>
    /// Maps the approvals inbox under <paramref name="pattern"/>: the page (GET), the records it polls
    /// (GET <c>records</c>), and the answers (POST <c>{id}/approve</c>, <c>{id}/deny</c>, with an optional <c>note</c>,
    /// anti-forgery checked). Every endpoint requires the host's authentication and the authorisation policy
    /// <see cref="ApprovalsEndpointOptions.AuthorizationPolicy"/>; who answered is the authenticated user. When a
    /// webhook approver is registered (<c>AddPolicyLayerWebhookApprover</c>), its signed callback is mapped at
    /// <c>callback</c>, outside the policy (the signature authenticates it).
    /// </summary>
    /// <param name="endpoints">The endpoint route builder, such as the <c>WebApplication</c>.</param>
    /// <param name="pattern">The route prefix.</param>
    /// <param name="configure">Sets the authorisation policy and the refresh interval.</param>
    /// <returns>The builder of the inbox's endpoints (the callback excepted), for more conventions.</returns>
    /// <exception cref="InvalidOperationException">No <see cref="ApprovalInbox"/> or anti-forgery services are registered.</exception>
    public static IEndpointConventionBuilder MapPolicyLayerApprovals(this IEndpointRouteBuilder endpoints, string pattern = "/approvals", Action<ApprovalsEndpointOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var options = new ApprovalsEndpointOptions();
        configure?.Invoke(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.AuthorizationPolicy, "ApprovalsEndpointOptions.AuthorizationPolicy");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RefreshMilliseconds, 250, "ApprovalsEndpointOptions.RefreshMilliseconds");

        var services = endpoints.ServiceProvider;
        var inbox = services.GetService<ApprovalInbox>()
            ?? throw new InvalidOperationException("MapPolicyLayerApprovals needs an ApprovalInbox: call services.AddPolicyLayerApprovals().");
        var antiforgery = services.GetService<IAntiforgery>()
            ?? throw new InvalidOperationException("MapPolicyLayerApprovals needs the anti-forgery services: call services.AddAntiforgery().");
        var prefix = "/" + pattern.Trim('/');

        var group = endpoints.MapGroup(prefix);
        group.MapGet(string.Empty, context => PageAsync(context, antiforgery, inbox, prefix, options.RefreshMilliseconds));
        group.MapGet("/records", context => RecordsAsync(context, inbox));
        group.MapPost("/{id}/approve", context => AnswerAsync(context, antiforgery, inbox, approve: true));
        group.MapPost("/{id}/deny", context => AnswerAsync(context, antiforgery, inbox, approve: false));
        group.RequireAuthorization(options.AuthorizationPolicy);

        if (services.GetService<WebhookCallback>() is { } callback)
        {
            endpoints.MapPost(prefix + "/callback", context => callback.HandleAsync(context, inbox)).AllowAnonymous();
        }

        return group;
    }

    /// <summary>Who is answering: the authenticated user's name, else its name identifier or <c>sub</c>; null when unknown.</summary>
    internal static string? Approver(ClaimsPrincipal user) =>
        user.Identity is { IsAuthenticated: true } identity
            ? identity.Name ?? user.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? user.FindFirst("sub")?.Value
            : null;

    private static async Task PageAsync(HttpContext context, IAntiforgery antiforgery, ApprovalInbox inbox, string prefix, int refresh)
    {
        if (Approver(context.User) is not { } approver)
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        var tokens = antiforgery.GetAndStoreTokens(context);
        var nonce = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = $"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers.CacheControl = "no-store";
        headers["Referrer-Policy"] = "no-referrer";
        context.Response.ContentType = "text/html; charset=utf-8";
        var page = ApprovalsPage.Render(context.Request.PathBase + prefix, approver, tokens.FormFieldName, tokens.RequestToken ?? string.Empty, nonce, refresh, inbox.MaxNoteLength);
        await context.Response.WriteAsync(page, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task RecordsAsync(HttpContext context, ApprovalInbox inbox)
    {
        var records = await inbox.ListAsync(context.RequestAborted).ConfigureAwait(false);
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var json = new Utf8JsonWriter(buffer, ApprovalRecordJson.Options))
        {
            json.WriteStartObject();
            json.WriteStartArray("records");
            foreach (var record in records)
            {
                ApprovalRecordJson.Write(json, record);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task AnswerAsync(HttpContext context, IAntiforgery antiforgery, ApprovalInbox inbox, bool approve)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = MaxFormBytes;
        }

        if (Approver(context.User) is not { } approver)
        {
            await ReplyAsync(context, StatusCodes.Status403Forbidden, "forbidden", "The inbox does not know who you are, so it cannot record your answer.").ConfigureAwait(false);
            return;
        }

        try
        {
            await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            await ReplyAsync(context, StatusCodes.Status400BadRequest, "forged", "The answer's anti-forgery token is missing or not valid; reload the page and answer again.").ConfigureAwait(false);
            return;
        }

        var id = context.Request.RouteValues["id"] as string ?? string.Empty;
        var note = context.Request.HasFormContentType ? context.Request.Form["note"].ToString() : string.Empty;
        if (note.Length > inbox.MaxNoteLength)
        {
            await ReplyAsync(context, StatusCodes.Status400BadRequest, "note_too_long", $"The note has {note.Length} characters; at most {inbox.MaxNoteLength} are allowed.").ConfigureAwait(false);
            return;
        }

        var result = await inbox.DecideAsync(id, approve, approver, note, context.RequestAborted).ConfigureAwait(false);
        await ReplyAsync(context, result).ConfigureAwait(false);
    }

    /// <summary>The HTTP answer to an answer: 200 recorded, 404 unknown, 409 answered already, 410 expired.</summary>
    internal static Task ReplyAsync(HttpContext context, ApprovalDecisionResult result) => result switch
    {
        ApprovalDecisionResult.Decided => ReplyAsync(context, StatusCodes.Status200OK, "decided", "The answer was recorded."),
        ApprovalDecisionResult.NotFound => ReplyAsync(context, StatusCodes.Status404NotFound, "not_found", "No held call has this id (it may have expired and been forgotten)."),
        ApprovalDecisionResult.AlreadyDecided => ReplyAsync(context, StatusCodes.Status409Conflict, "already_decided", "This call was answered already; each call takes one answer."),
        _ => ReplyAsync(context, StatusCodes.Status410Gone, "expired", "This call expired before the answer came."),
    };

    internal static async Task ReplyAsync(HttpContext context, int status, string result, string message)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentType = "application/json; charset=utf-8";
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, ApprovalRecordJson.Options))
        {
            json.WriteStartObject();
            json.WriteString("result", result);
            json.WriteString("message", message);
            json.WriteEndObject();
        }

        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
