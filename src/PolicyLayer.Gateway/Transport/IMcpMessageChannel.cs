namespace PolicyLayer.Gateway;

/// <summary>
/// One side of a gateway session, whatever its transport: where messages from a peer (the client or the server) are
/// read and where messages to it are written. A stdio channel frames messages by newlines
/// (<see cref="McpMessageChannels.Stdio"/>); an HTTP front feeds a channel from request bodies and SSE streams.
/// </summary>
/// <remarks>
/// The gateway reads a channel from one loop and writes it from one writer at a time: an implementation needs no locks
/// of its own. Everything written is one complete JSON-RPC message that the gateway has decided and re-serialised.
/// </remarks>
public interface IMcpMessageChannel
{
    /// <summary>Reads the peer's next message.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The message (valid until the next call), <see cref="McpMessageReadStatus.TooLong"/>, or the end of the peer's output.</returns>
    ValueTask<McpMessageRead> ReadAsync(CancellationToken cancellationToken);

    /// <summary>Writes one message to the peer.</summary>
    /// <param name="message">One JSON-RPC message in UTF-8, without framing: the channel frames it.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    ValueTask WriteAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken);

    /// <summary>Ends what the peer reads (for a stdio server, closes its input: MCP's shutdown); further writes fail.</summary>
    /// <returns>A task that completes when the output is closed.</returns>
    ValueTask CompleteAsync();
}
