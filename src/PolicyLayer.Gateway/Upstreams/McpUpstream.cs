namespace PolicyLayer.Gateway;

/// <summary>
/// The MCP server behind the gateway: a command started once per session (stdio), or a Streamable HTTP endpoint that
/// each session opens its own MCP session on. Created with <see cref="Command"/> or <see cref="Http"/>.
/// </summary>
public abstract class McpUpstream
{
    private protected McpUpstream()
    {
    }

    /// <summary>What the upstream is, for messages: the command or the URL (never its headers).</summary>
    public abstract string Description { get; }

    /// <summary>A stdio server: <paramref name="command"/> is started with <paramref name="arguments"/> for each session, and ended with it.</summary>
    /// <param name="command">The executable.</param>
    /// <param name="arguments">Its arguments, passed on verbatim.</param>
    /// <returns>The upstream.</returns>
    public static McpUpstream Command(string command, params IEnumerable<string> arguments)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        ArgumentNullException.ThrowIfNull(arguments);
        return new ChildProcessUpstream(command, [.. arguments]);
    }

    /// <summary>
    /// A Streamable HTTP server at <paramref name="endpoint"/>. Every request to it carries <paramref name="headers"/>
    /// (the gateway's own credentials for it) and nothing of the client's: no <c>Authorization</c>, no cookies.
    /// </summary>
    /// <param name="endpoint">The server's MCP endpoint, http or https.</param>
    /// <param name="headers">Headers sent with every request, such as <c>Authorization</c>; none when <see langword="null"/>.</param>
    /// <returns>The upstream.</returns>
    /// <exception cref="ArgumentException">The endpoint is not an absolute http(s) URL, or a header is not a valid name and value.</exception>
    public static McpUpstream Http(Uri endpoint, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The upstream '{endpoint}' is not an absolute http or https URL.", nameof(endpoint));
        }

        return new HttpUpstream(endpoint, [.. headers ?? []]);
    }

    /// <summary>Opens one session's connection to the server (starts the child, or prepares the HTTP session).</summary>
    internal abstract ValueTask<UpstreamConnection> ConnectAsync(int maxMessageBytes, CancellationToken cancellationToken);
}
