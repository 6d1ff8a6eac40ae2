using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Security.Claims;

namespace PolicyLayer.Mcp;

/// <summary>
/// The claims of an authenticated principal as <see cref="CallerIdentity.Claims"/> holds them, grouped by
/// <see cref="CallerIdentity.GroupClaims"/> on the first read: only <c>caller.claims.*</c> conditions read them, and
/// grouping a bearer token's claims for every request cost more than the rest of the decision.
/// </summary>
internal sealed class PrincipalClaims : IReadOnlyDictionary<string, IReadOnlyList<string>>
{
    private readonly ClaimsPrincipal _principal;
    private IReadOnlyDictionary<string, IReadOnlyList<string>>? _grouped;

    public PrincipalClaims(ClaimsPrincipal principal)
    {
        _principal = principal;
    }

    public int Count => Grouped.Count;

    public IEnumerable<string> Keys => Grouped.Keys;

    public IEnumerable<IReadOnlyList<string>> Values => Grouped.Values;

    public IReadOnlyList<string> this[string key] => Grouped[key];

    // Grouping twice on a race is harmless: both results are equal, and one is kept.
    private IReadOnlyDictionary<string, IReadOnlyList<string>> Grouped =>
        Volatile.Read(ref _grouped)
        ?? Interlocked.CompareExchange(ref _grouped, CallerIdentity.GroupClaims(_principal.Claims.Select(static c => new KeyValuePair<string, string>(c.Type, c.Value))), null)
        ?? _grouped!;

    public bool ContainsKey(string key) => Grouped.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out IReadOnlyList<string> value) => Grouped.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, IReadOnlyList<string>>> GetEnumerator() => Grouped.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
