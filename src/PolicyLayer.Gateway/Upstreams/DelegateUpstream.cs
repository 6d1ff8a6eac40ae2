namespace PolicyLayer.Gateway;

/// <summary>An upstream whose connections come from a delegate: in-process servers for tests and benchmarks.</summary>
internal sealed class DelegateUpstream(string description, Func<int, CancellationToken, ValueTask<UpstreamConnection>> connect) : McpUpstream
{
    public override string Description => description;

    internal override ValueTask<UpstreamConnection> ConnectAsync(int maxMessageBytes, CancellationToken cancellationToken) => connect(maxMessageBytes, cancellationToken);
}
