namespace PolicyLayer.Cli.Proxy;

/// <summary>How the person at the client answered an approval request, or why there is no answer.</summary>
internal enum ApprovalAnswer
{
    Accepted,
    Declined,
    Cancelled,
    TimedOut,
    Failed,
    CancelledByClient,
}

/// <summary>A tools/call held until the person at the client answers the proxy's elicitation request.</summary>
internal sealed class PendingApproval(ToolCall call, PolicyDecision held, string callKey, byte[] callId, byte[] callLine, string elicitationId)
{
    private readonly TaskCompletionSource<ApprovalAnswer> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ToolCall Call { get; } = call;

    /// <summary>The decision that held the call: its reason and rule are what a refusal reports.</summary>
    public PolicyDecision Held { get; } = held;

    public string CallKey { get; } = callKey;

    /// <summary>The client's id of the call, as it wrote it.</summary>
    public ReadOnlyMemory<byte> CallId { get; } = callId;

    /// <summary>The client's tools/call line with its newline, forwarded as it is once approved.</summary>
    public ReadOnlyMemory<byte> CallLine { get; } = callLine;

    public string ElicitationId { get; } = elicitationId;

    public Task<ApprovalAnswer> Answered => _answer.Task;

    public void Answer(ApprovalAnswer answer) => _answer.TrySetResult(answer);
}

/// <summary>The proxy's own tools/list, page by page, in progress.</summary>
internal sealed class ToolRefresh
{
    public Dictionary<string, ToolDescriptor> Tools { get; } = new(StringComparer.Ordinal);

    public TaskCompletionSource<IReadOnlyDictionary<string, ToolDescriptor>> Completion { get; } =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The id key of the page request awaiting its answer.</summary>
    public string? PageIdKey { get; set; }

    public int Pages { get; set; }

    /// <summary>The server said its list changed while this refresh ran: use it for the calls waiting, then read again.</summary>
    public bool Outdated { get; set; }
}

/// <summary>A tool the client was sent in a tools/list answer, and whether the policy let it be listed then.</summary>
internal readonly record struct SeenTool(ToolDescriptor Tool, bool Listed);
