namespace PolicyLayer.Gateway;

/// <summary>The result of one <see cref="IMcpMessageChannel.ReadAsync"/>: a message, a message refused for its size, or the end.</summary>
public readonly struct McpMessageRead
{
    /// <summary>Creates a result.</summary>
    /// <param name="status">What was read.</param>
    /// <param name="message">With <see cref="McpMessageReadStatus.Message"/>, the message.</param>
    public McpMessageRead(McpMessageReadStatus status, ReadOnlyMemory<byte> message)
    {
        Status = status;
        Message = message;
    }

    /// <summary>A message whose envelope its transport has scanned already (strictly, as the gateway would).</summary>
    internal McpMessageRead(ReadOnlyMemory<byte> message, IScannedMessage scanned)
        : this(McpMessageReadStatus.Message, message) => Scanned = scanned;

    /// <summary>What was read.</summary>
    public McpMessageReadStatus Status { get; }

    /// <summary>
    /// With <see cref="McpMessageReadStatus.Message"/>, the message's UTF-8 bytes as the peer framed them (one JSON-RPC
    /// message, which the gateway checks and re-serialises); valid until the next read.
    /// </summary>
    public ReadOnlyMemory<byte> Message { get; }

    /// <summary>The strict scan of <see cref="Message"/> its transport made, when it made one.</summary>
    internal IScannedMessage? Scanned { get; }
}
