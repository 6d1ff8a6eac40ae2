using System.Diagnostics;

namespace PolicyLayer.Gateway;

/// <summary>A Streamable HTTP server; one <see cref="SocketsHttpHandler"/> (one connection pool) for every session.</summary>
internal sealed class HttpUpstream : McpUpstream
{
    private readonly Uri _endpoint;
    private readonly KeyValuePair<string, string>[] _headers;

    /// <summary>
    /// One connection pool for every HTTP upstream of the process. A bare invoker, not an HttpClient: no time-out (an
    /// event stream lasts as long as its request; a dead server is found by the connection, not a timer), no linked
    /// cancellation source per request, and the answer is read as it arrives (headers first, the body streamed).
    /// </summary>
    private static readonly HttpMessageInvoker SharedHttp = new(new SocketsHttpHandler
    {
        // The client's cookies never reach the upstream, and the upstream's are not kept either.
        UseCookies = false,
        AllowAutoRedirect = false,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),

        // Nothing of the client's reaches the upstream, its trace context (traceparent) neither; and no header is built for it per request.
        ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
    });

    public HttpUpstream(Uri endpoint, KeyValuePair<string, string>[] headers)
    {
        _endpoint = endpoint;
        _headers = headers;
        foreach (var (name, value) in headers)
        {
            using var probe = new HttpRequestMessage();
            if (string.IsNullOrWhiteSpace(name) || !probe.Headers.TryAddWithoutValidation(name, value) || name.Contains(':', StringComparison.Ordinal)
                || value.AsSpan().IndexOfAny('\r', '\n') >= 0)
            {
                throw new ArgumentException($"The upstream header '{name}' is not a valid header name and value.", nameof(headers));
            }
        }
    }

    public override string Description => _endpoint.GetLeftPart(UriPartial.Path);

    internal override ValueTask<UpstreamConnection> ConnectAsync(int maxMessageBytes, CancellationToken cancellationToken) =>
        ValueTask.FromResult<UpstreamConnection>(new Connection(new HttpUpstreamChannel(SharedHttp, _endpoint, _headers, Math.Max(maxMessageBytes, 64 * 1024 * 1024))));

    private sealed class Connection(HttpUpstreamChannel channel) : UpstreamConnection
    {
        public override IMcpMessageChannel Channel => channel;

        public override ValueTask DisposeAsync() => channel.CompleteAsync();
    }
}
