using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace PolicyLayer;

/// <summary>The Lua script that decides every operation of a <see cref="RedisCounterStore"/> on the counters of one hash slot.</summary>
internal static class RedisCounterScript
{
    /// <summary>The operation argument of a reservation.</summary>
    public static readonly RedisValue Reserve = "r";

    /// <summary>The operation argument of a read of budgets.</summary>
    public static readonly RedisValue Budgets = "b";

    /// <summary>The operation argument of a release.</summary>
    public static readonly RedisValue Release = "x";

    /// <summary>The most entries a counter's log holds; a counter whose max is larger keeps its times on a grid.</summary>
    public const int MaxEntries = 1024;

    /// <summary>Exact logs span at most 2^22 quanta per window, so that offsets fit the script's 3-byte field with room to grow.</summary>
    public const long OffsetsPerWindow = 1L << 22;

    /// <summary>The script's text (counters.lua).</summary>
    public static string Text { get; } = LoadText();

    /// <summary>The script's SHA1 digest, the name Redis caches it under (EVALSHA).</summary>
    public static byte[] Sha1 { get; } = ComputeSha1(Text);

    /// <summary>The SHA1 digest as the hexadecimal string Redis shows.</summary>
    public static string Sha1Hex { get; } = Convert.ToHexStringLower(Sha1);

    /// <summary>
    /// The resolution, in microseconds, of a counter's entry times: as fine as the script's offsets allow when the log
    /// can hold one entry per unit (exact), else 1/1,022 of the window so that a log never exceeds <see cref="MaxEntries"/>.
    /// Times are rounded up to it, so the store under-admits by at most one quantum and never over-admits.
    /// </summary>
    public static long Quantum(CounterDefinition counter)
    {
        var window = counter.Window.Ticks / TimeSpan.TicksPerMicrosecond;
        return CounterTable.ChooseQuantum(window, 1_000_000, counter.Max > MaxEntries ? MaxEntries - 2 : OffsetsPerWindow);
    }

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
