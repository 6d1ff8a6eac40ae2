namespace PolicyLayer.Gateway;

/// <summary>A tools/call held until the person at the client answers the gateway's elicitation request.</summary>
internal sealed class PendingApproval(ToolCall call, PolicyDecision held, ClientRequest request, byte[] message, int idStart, int idLength)
{
    private readonly TaskCompletionSource<ApprovalAnswer> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ToolCall Call { get; } = call;

    /// <summary>The decision that held the call: its reason and rule are what a refusal reports.</summary>
    public PolicyDecision Held { get; } = held;

    /// <summary>The client's request, in flight while the call is held.</summary>
    public ClientRequest Request { get; } = request;

    /// <summary>The client's tools/call message, a copy, forwarded once approved.</summary>
    public byte[] Message { get; } = message;

    /// <summary>Where the id is in <see cref="Message"/>.</summary>
    public int IdStart { get; } = idStart;

    public int IdLength { get; } = idLength;

    /// <summary>What the held call counts against the session's bound on held bytes.</summary>
    public int Bytes => Message.Length;

    public Task<ApprovalAnswer> Answered => _answer.Task;

    public void Answer(ApprovalAnswer answer) => _answer.TrySetResult(answer);
}
