using ModelContextProtocol.Server;

namespace PolicyLayer.Mcp;

/// <summary>
/// The server's tool collection, which can also say that the list changed when its tools did not: the policy in front of
/// them did. The SDK then sends <c>notifications/tools/list_changed</c> its own way on every session (a notification on
/// stdio and stateful HTTP, on the subscription stream for clients that listen).
/// </summary>
internal sealed class AnnouncingToolCollection : McpServerPrimitiveCollection<McpServerTool>
{
    /// <summary>Raises <see cref="McpServerPrimitiveCollection{T}.Changed"/>.</summary>
    public void Announce() => RaiseChanged();
}
