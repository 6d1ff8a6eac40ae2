namespace PolicyLayer.Gateway;

/// <summary>The gateway's own tools/list, page by page, in progress.</summary>
internal sealed class ToolRefresh
{
    public Dictionary<string, ToolDescriptor> Tools { get; } = new(StringComparer.Ordinal);

    public TaskCompletionSource<IReadOnlyDictionary<string, ToolDescriptor>> Completion { get; } =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The server id of the page request awaiting its answer.</summary>
    public long PageId { get; set; }

    public int Pages { get; set; }

    /// <summary>The server said its list changed while this refresh ran: use it for the calls waiting, then read again.</summary>
    public bool Outdated { get; set; }
}
