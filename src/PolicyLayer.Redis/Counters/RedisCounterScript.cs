using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace PolicyLayer;

/// <summary>The Lua script that decides every operation of a <see cref="RedisCounterStore"/>, and the keys it works on.</summary>
internal static class RedisCounterScript
{
    /// <summary>The operation argument of a reservation.</summary>
    public static readonly RedisValue Reserve = "r";

    /// <summary>The operation argument of a read of budgets.</summary>
    public static readonly RedisValue Budgets = "b";

    /// <summary>The operation argument of a release.</summary>
    public static readonly RedisValue Release = "x";

    /// <summary>The script's text (counters.lua).</summary>
    public static string Text { get; } = LoadText();

    /// <summary>The script's SHA1 digest, the name Redis caches it under (EVALSHA).</summary>
    public static byte[] Sha1 { get; } = ComputeSha1(Text);

    /// <summary>The SHA1 digest as the hexadecimal string Redis shows.</summary>
    public static string Sha1Hex { get; } = Convert.ToHexStringLower(Sha1);

    /// <summary>The key of the store's state: the reservation id sequence and the latest time decided at.</summary>
    public static RedisKey StateKey(string prefix) => "{" + prefix + "}:state";

    /// <summary>
    /// The key of a counter's entries (<paramref name="kind"/> 'z') or total ('n'): the prefix's hash tag, the kind,
    /// the scope, the length-prefixed counter name, then the scope key, so that no two counters share a key.
    /// </summary>
    public static RedisKey CounterKey(string prefix, char kind, CounterDefinition counter, string scopeKey) =>
        string.Create(CultureInfo.InvariantCulture, $"{{{prefix}}}:{kind}:{ScopeName(counter.Scope)}:{counter.Name.Length}:{counter.Name}:{scopeKey}");

    private static string ScopeName(CounterScope scope) => scope switch
    {
        CounterScope.Session => "session",
        CounterScope.Grant => "grant",
        CounterScope.Agent => "agent",
        CounterScope.User => "user",
        CounterScope.Global => "global",
        _ => throw new ArgumentOutOfRangeException(nameof(scope), scope, "Unknown counter scope."),
    };

    private static string LoadText()
    {
        using var stream = typeof(RedisCounterScript).Assembly.GetManifestResourceStream("PolicyLayer.Redis.counters.lua")
            ?? throw new InvalidOperationException("The embedded script PolicyLayer.Redis.counters.lua is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);

        // Line endings are normalised so that the digest does not depend on how the file was checked out.
        return reader.ReadToEnd().Replace("\r\n", "\n", StringComparison.Ordinal);
    }

#pragma warning disable CA5350 // SHA1 is not used for security: it is the name Redis gives a cached script.
    private static byte[] ComputeSha1(string text) => SHA1.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350
}
