using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace PolicyLayer;

/// <summary>
/// The Redis key of a counter and scope value: <c>prefix:{definition:scope}</c>. The hash tag holds both, so that a
/// cluster spreads counters and scopes over its slots, and its parts are bounded in length whatever a client sends.
/// </summary>
/// <remarks>
/// The definition part is a digest of everything that defines the counter (name, max, window, scope kind, increment
/// source): two definitions of one name, such as two policy versions during a rolling deploy, never share or prune
/// each other's entries. The scope part is the scope value itself when it is short and plain (<c>=grant-1</c>), else a
/// digest of it (<c>#…</c>); the two forms cannot collide.
/// </remarks>
internal static class RedisCounterKeys
{
    /// <summary>The longest scope value kept as it is in a key; longer ones are hashed.</summary>
    internal const int MaxPlainScopeLength = 64;

    private static readonly SearchValues<char> PlainScopeChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@:+/=");

    private static readonly ConditionalWeakTable<CounterDefinition, string> DefinitionDigests = [];

    /// <summary>The key of <paramref name="counter"/>'s log for <paramref name="scopeKey"/> under <paramref name="prefix"/>.</summary>
    internal static RedisKey CounterKey(string prefix, CounterDefinition counter, string scopeKey) =>
        string.Concat(prefix, ":{", DefinitionDigest(counter), ScopePart(scopeKey), "}");

    /// <summary>The 16 hex digits that name a counter definition in its keys.</summary>
    internal static string DefinitionDigest(CounterDefinition counter) =>
        DefinitionDigests.GetValue(counter, static c => Digest(string.Create(
            CultureInfo.InvariantCulture,
            $"{c.Name.Length}:{c.Name}|{c.Max}|{c.Window.Ticks}|{(int)c.Scope}|{c.IncrementFrom?.Length ?? -1}:{c.IncrementFrom}"), 8));

    /// <summary>The scope value as it appears in a key: itself after '=' when short and plain, else '#' and its digest.</summary>
    internal static string ScopePart(string scopeKey) =>
        scopeKey.Length <= MaxPlainScopeLength && !scopeKey.AsSpan().ContainsAnyExcept(PlainScopeChars)
            ? "=" + scopeKey
            : "#" + Digest(scopeKey, 16);

    // SHA-256, so that a client cannot choose two scope values that share a bucket; truncated to keep keys short.
    private static string Digest(string text, int bytes)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = Encoding.UTF8.GetBytes(text, rented);
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(rented.AsSpan(0, written), hash);
            return Convert.ToHexStringLower(hash[..bytes]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
