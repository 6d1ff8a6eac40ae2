using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PolicyLayer.Gateway;

/// <summary>The webhook's signature, both ways: <c>v1=hex(HMAC-SHA256(secret, "v1:" + timestamp + ":" + body))</c>.</summary>
internal static class WebhookSignature
{
    public const string SignatureHeader = "X-PolicyLayer-Signature";
    public const string TimestampHeader = "X-PolicyLayer-Timestamp";

    public static string Compute(byte[] key, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes("v1:" + timestamp.ToString(CultureInfo.InvariantCulture) + ":");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(key, signed));
    }

    public static bool Matches(byte[] key, long timestamp, ReadOnlySpan<byte> body, string signature) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Compute(key, timestamp, body)), Encoding.ASCII.GetBytes(signature));
}
