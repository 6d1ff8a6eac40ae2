using ModelContextProtocol.Server;

namespace PolicyLayer.Mcp;

/// <summary>
/// The server's tool collection, which can also say that the list changed when its tools did not: the policy in front of
/// them did. The SDK then sends <c>notifications/tools/list_changed</c> its own way on every session (a notification on
/// stdio and stateful HTTP, on the subscription stream for clients that listen).
/// </summary>
internal sealed class AnnouncingToolCollection : McpServerPrimitiveCollection<McpServerTool>
{
    // What tools/list showed of these tools when a client with a session first listed them, then after each change;
    // null until then. Written under the announcer's lock.
    private volatile string[]? _listed;

    /// <summary>Whether <see cref="ToolListAnnouncer"/> tracks this collection: a client with a session listed its tools.</summary>
    public bool IsTracked => _listed is not null;

    /// <summary>The names tools/list showed last; set by <see cref="ToolListAnnouncer"/> under its lock.</summary>
    internal string[]? Listed
    {
        get => _listed;
        set => _listed = value;
    }

    /// <summary>Raises <see cref="McpServerPrimitiveCollection{T}.Changed"/>.</summary>
    public void Announce() => RaiseChanged();
}
