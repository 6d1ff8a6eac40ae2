namespace PolicyLayer.Gateway;

/// <summary>What <see cref="IMcpMessageChannel.ReadAsync"/> found.</summary>
public enum McpMessageReadStatus
{
    /// <summary>One message: <see cref="McpMessageRead.Message"/>.</summary>
    Message,

    /// <summary>A message longer than the channel's limit, already discarded; the gateway answers it with an error.</summary>
    TooLong,

    /// <summary>The peer's output ended: no more messages.</summary>
    End,
}
