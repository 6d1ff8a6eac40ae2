namespace PolicyLayer.Gateway;

/// <summary>One session's connection to the upstream server: its channel, and how to let it go.</summary>
internal abstract class UpstreamConnection : IAsyncDisposable
{
    /// <summary>What the server sends, and where the gateway's decided messages go.</summary>
    public abstract IMcpMessageChannel Channel { get; }

    /// <summary>Ends the connection: the server has had its input closed by then; what is left is stopped (a child killed after a grace period).</summary>
    public abstract ValueTask DisposeAsync();
}
