using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// The floor of the HTTP gateway's latency: the least a forwarder on the same stack does per call. Kestrel with the
/// gateway's socket options (<c>UseGatewaySockets</c>, its host's) in front of one pooled <see cref="SocketsHttpHandler"/> set up as the
/// gateway's upstream handler; the POST's body, <c>Mcp-Session-Id</c> and <c>Accept</c> forwarded, the answer's status,
/// session id, content type and body copied back. No policy, no MCP session, no id mapping, no scan.
/// </summary>
internal static class FloorForwarder
{
    private static readonly HttpMessageInvoker Upstream = new(new SocketsHttpHandler
    {
        UseCookies = false,
        AllowAutoRedirect = false,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
    });

    public static async Task ForwardAsync(HttpContext context, Uri upstream)
    {
        var body = new byte[context.Request.ContentLength ?? 0];
        await context.Request.Body.ReadExactlyAsync(body, context.RequestAborted);
        using var request = new HttpRequestMessage(HttpMethod.Post, upstream) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation(HeaderNames.ContentType, "application/json");
        request.Headers.TryAddWithoutValidation(HeaderNames.Accept, context.Request.Headers.Accept.ToString());
        if (context.Request.Headers.TryGetValue("Mcp-Session-Id", out var session))
        {
            request.Headers.TryAddWithoutValidation("Mcp-Session-Id", session.ToString());
        }

        using var response = await Upstream.SendAsync(request, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        if (response.Headers.NonValidated.TryGetValues("Mcp-Session-Id", out var answerSession))
        {
            context.Response.Headers["Mcp-Session-Id"] = answerSession.ToString();
        }

        if (response.Content.Headers.NonValidated.TryGetValues(HeaderNames.ContentType, out var type))
        {
            context.Response.ContentType = type.ToString();
        }

        var answer = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);
        context.Response.ContentLength = answer.Length;
        await context.Response.Body.WriteAsync(answer, context.RequestAborted);
    }
}
