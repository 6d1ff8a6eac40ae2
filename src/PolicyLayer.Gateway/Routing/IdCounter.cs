using System.Globalization;
using System.Text;

namespace PolicyLayer.Gateway;

/// <summary>
/// The ids the gateway puts on the messages it sends one peer: positive integers, one counter per session and direction,
/// so that no id the peer sees was chosen by the other peer.
/// </summary>
internal sealed class IdCounter
{
    private long _last;

    public long Next() => Interlocked.Increment(ref _last);

    /// <summary>An id as JSON.</summary>
    public static byte[] Json(long id) => Encoding.ASCII.GetBytes(id.ToString(CultureInfo.InvariantCulture));

    /// <summary>The id a peer's answer carries, when it is one of the gateway's (a positive integer).</summary>
    public static bool TryRead(string? idKey, out long id)
    {
        id = 0;
        return idKey is not null && idKey.StartsWith("n:", StringComparison.Ordinal)
            && long.TryParse(idKey.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out id) && id > 0;
    }
}
