using System.Collections.Frozen;

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

    /// <summary>
    /// The authenticated principal's claims, by claim type, each with all its values in the order the host gave them;
    /// empty when the host knows none. Conditions read them as <c>caller.claims.&lt;type&gt;</c>: a claim with several
    /// values (roles, groups) works with <c>contains</c>, <c>in</c> and <c>not_in</c>. Build it with <see cref="GroupClaims"/>.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Claims
    {
        get => _claims;
        init => _claims = value ?? throw new ArgumentNullException(nameof(value));
    }

    private readonly IReadOnlyDictionary<string, IReadOnlyList<string>> _claims = NoClaims;

    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> NoClaims =
        FrozenDictionary<string, IReadOnlyList<string>>.Empty;

    /// <summary>
    /// Groups (type, value) pairs, such as the claims of a <c>ClaimsPrincipal</c>, into the map <see cref="Claims"/> holds:
    /// types compared ordinally, values kept in order, a value repeated under one type kept once.
    /// </summary>
    /// <param name="claims">The claims as (type, value) pairs.</param>
    /// <returns>A read-only map from claim type to its values.</returns>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> GroupClaims(IEnumerable<KeyValuePair<string, string>> claims)
    {
        ArgumentNullException.ThrowIfNull(claims);
        var grouped = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (type, value) in claims)
        {
            if (type is null || value is null)
            {
                continue;
            }

            if (!grouped.TryGetValue(type, out var values))
            {
                grouped[type] = values = [];
            }

            if (!values.Contains(value, StringComparer.Ordinal))
            {
                values.Add(value);
            }
        }

        return grouped.Count == 0
            ? NoClaims
            : grouped.ToFrozenDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Value.ToArray(), StringComparer.Ordinal);
    }

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
