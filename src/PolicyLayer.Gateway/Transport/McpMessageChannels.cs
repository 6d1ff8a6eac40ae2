namespace PolicyLayer.Gateway;

/// <summary>Creates the message channels of the transports the gateway knows.</summary>
public static class McpMessageChannels
{
    /// <summary>
    /// A channel over a pair of streams with MCP's stdio framing: one message per line, ended by <c>\n</c>. Used for
    /// the proxy's own standard input and output (the client) and for a child server's standard output and input.
    /// </summary>
    /// <param name="input">What the peer writes (read by the gateway).</param>
    /// <param name="output">What the peer reads (written by the gateway).</param>
    /// <param name="maxMessageBytes">
    /// The longest line accepted, in bytes without its newline; a longer one is discarded as it arrives (never held) and
    /// read as <see cref="McpMessageReadStatus.TooLong"/>. <see cref="int.MaxValue"/> for no limit.
    /// </param>
    /// <returns>The channel; <see cref="IMcpMessageChannel.CompleteAsync"/> closes <paramref name="output"/>.</returns>
    public static IMcpMessageChannel Stdio(Stream input, Stream output, int maxMessageBytes = int.MaxValue) =>
        StdioChannel(input, output, maxMessageBytes, readsInPlace: false);

    /// <summary>
    /// A stdio channel whose <paramref name="input"/> is read in place: its <c>ReadAsync</c> blocks the calling thread
    /// until bytes arrive and completes synchronously (the proxy's console, or a child's standard output, each wrapped so).
    /// The session reads such a channel from a thread of its own, as a byte relay does, rather than from the thread pool.
    /// </summary>
    internal static IMcpMessageChannel StdioReadInPlace(Stream input, Stream output, int maxMessageBytes = int.MaxValue) =>
        StdioChannel(input, output, maxMessageBytes, readsInPlace: true);

    private static StdioMessageChannel StdioChannel(Stream input, Stream output, int maxMessageBytes, bool readsInPlace)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageBytes, 1);
        return new StdioMessageChannel(input, output, maxMessageBytes, readsInPlace);
    }
}
