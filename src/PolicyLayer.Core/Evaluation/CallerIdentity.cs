namespace PolicyLayer;

/// <summary>
/// Who is calling a tool. Each value keys the counters of its scope; a limit whose scope has no
/// value for the caller refuses the call rather than falling back to a bucket shared by strangers.
/// </summary>
public sealed class CallerIdentity
{
    /// <summary>An identity with no values: only <c>global</c> limits can count its calls.</summary>
    public static CallerIdentity Anonymous { get; } = new();

    /// <summary>The credential (API key, token, grant) the agent uses; keys the <c>grant</c> scope.</summary>
    public string? GrantId { get; init; }

    /// <summary>One agent session (one MCP connection or session id); keys the <c>session</c> scope.</summary>
    public string? SessionId { get; init; }

    /// <summary>The client application, such as the MCP client's name; keys the <c>agent</c> scope.</summary>
    public string? AgentId { get; init; }

    /// <summary>The person behind the agent, such as the authenticated user; keys the <c>user</c> scope.</summary>
    public string? UserId { get; init; }

    /// <summary>Returns the value that keys <paramref name="scope"/> for this caller, or <see langword="null"/> when it has none.</summary>
    /// <param name="scope">The scope of a limit.</param>
    public string? GetScopeKey(CounterScope scope) => scope switch
    {
        CounterScope.Grant => GrantId,
        CounterScope.Session => SessionId,
        CounterScope.Agent => AgentId,
        CounterScope.User => UserId,
        CounterScope.Global => string.Empty,
        _ => null,
    };

    /// <inheritdoc />
    public override string ToString() =>
        $"grant={GrantId ?? "-"} session={SessionId ?? "-"} agent={AgentId ?? "-"} user={UserId ?? "-"}";
}
