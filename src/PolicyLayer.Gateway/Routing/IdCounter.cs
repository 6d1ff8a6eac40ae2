using System.Globalization;

namespace PolicyLayer.Gateway;

/// <summary>
/// The ids the gateway puts on the messages it sends one peer: positive integers, one counter per session and direction,
/// so that no id the peer sees was chosen by the other peer.
/// </summary>
internal sealed class IdCounter
{
    private long _last;

    public long Next() => Interlocked.Increment(ref _last);

    /// <summary>Writes an id as JSON (its decimal digits) into <paramref name="destination"/>, which holds 20 bytes.</summary>
    public static void Format(long id, Span<byte> destination, out int written)
    {
        if (!id.TryFormat(destination, out written, default, CultureInfo.InvariantCulture))
        {
            throw new ArgumentException("An id takes at most 20 bytes.", nameof(destination));
        }
    }

    /// <summary>The id a peer's answer carries, when it is one of the gateway's (a positive integer).</summary>
    public static bool TryRead(string? idKey, out long id)
    {
        id = 0;
        return idKey is not null && idKey.StartsWith("n:", StringComparison.Ordinal)
            && long.TryParse(idKey.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out id) && id > 0;
    }
}
