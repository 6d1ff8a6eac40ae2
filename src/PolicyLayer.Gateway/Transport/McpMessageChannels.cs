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
    public static IMcpMessageChannel Stdio(Stream input, Stream output, int maxMessageBytes = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageBytes, 1);
        return new StdioMessageChannel(input, output, maxMessageBytes);
    }
}
