using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// An <see cref="HttpMessageHandler"/> that hands each request straight to an application's endpoint, in the calling
/// process and without a socket: the request's body and the endpoint's whole response are buffered, a service scope is
/// made per request as Kestrel's hosting does. Enough for the MCP endpoint in stateless mode, whose every response
/// ends with its request; it lets a measurement see the server's work per request without the kernel's network stack
/// and the thread hops of a socket between client and server.
/// </summary>
internal sealed class InProcessHttpHandler : HttpMessageHandler
{
    private readonly RouteEndpoint[] _endpoints;
    private readonly IServiceScopeFactory _scopes;

    public InProcessHttpHandler(WebApplication app)
    {
        _endpoints = [.. ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()];
        _scopes = app.Services.GetRequiredService<IServiceScopeFactory>();
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var endpoint = _endpoints.FirstOrDefault(e =>
            Path(e) == request.RequestUri!.AbsolutePath.TrimEnd('/')
            && e.Metadata.GetMetadata<HttpMethodMetadata>() is { } methods && methods.HttpMethods.Contains(request.Method.Method));
        if (endpoint?.RequestDelegate is not { } handle)
        {
            return new HttpResponseMessage(HttpStatusCode.MethodNotAllowed) { RequestMessage = request };
        }

        await using var scope = _scopes.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Method = request.Method.Method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString(request.RequestUri!.Authority);
        context.Request.Path = request.RequestUri.AbsolutePath;
        foreach (var header in request.Headers)
        {
            context.Request.Headers.Append(header.Key, header.Value.ToArray());
        }

        if (request.Content is { } content)
        {
            foreach (var header in content.Headers)
            {
                context.Request.Headers.Append(header.Key, header.Value.ToArray());
            }

            var body = await content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            context.Request.Body = new MemoryStream(body, writable: false);
            context.Request.ContentLength = body.Length;
        }

        var responseBody = new MemoryStream();
        context.Response.Body = responseBody;
        context.RequestAborted = cancellationToken;
        context.SetEndpoint(endpoint);
        await handle(context).ConfigureAwait(false);
        await context.Response.CompleteAsync().ConfigureAwait(false);

        var response = new HttpResponseMessage((HttpStatusCode)context.Response.StatusCode)
        {
            RequestMessage = request,
            Content = new ByteArrayContent(responseBody.ToArray()),
        };
        foreach (var header in context.Response.Headers)
        {
            if (!response.Headers.TryAddWithoutValidation(header.Key, (IEnumerable<string?>)header.Value))
            {
                response.Content.Headers.TryAddWithoutValidation(header.Key, (IEnumerable<string?>)header.Value);
            }
        }

        return response;
    }

    // The endpoint's path, for the literal patterns MapMcp maps ("/mcp" and the like).
    private static string Path(RouteEndpoint endpoint) =>
        string.Concat(endpoint.RoutePattern.PathSegments.Select(s =>
            "/" + string.Concat(s.Parts.OfType<Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart>().Select(p => p.Content))));
}
