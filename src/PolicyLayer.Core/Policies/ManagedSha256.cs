using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;

namespace PolicyLayer.Policies;

/// <summary>
/// SHA-256 (FIPS 180-4) in managed code, for the small documents whose revision it hashes. On Linux the platform's
/// SHA-256 is OpenSSL's: the first hash in a process loads and configures the library, several milliseconds of a
/// command's start-up (docs/benchmarks.md, "Start-up, session 4"), while hashing a few kilobytes here takes
/// microseconds. Large inputs go to <see cref="IncrementalHash"/>, which is several times faster per byte
/// (<see cref="ContentHash"/> chooses). Same algorithm, same digest: tests compare the two on every length.
/// </summary>
internal sealed class ManagedSha256
{
    public const int HashSizeInBytes = 32;

    private static ReadOnlySpan<uint> RoundConstants =>
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    private readonly uint[] _state = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    private readonly byte[] _pending = new byte[64];
    private int _pendingLength;
    private long _length;
    private bool _finished;

    /// <summary>The SHA-256 of <paramref name="data"/>, written to <paramref name="destination"/> (32 bytes).</summary>
    public static void HashData(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        var sha = new ManagedSha256();
        sha.Append(data);
        sha.GetHash(destination);
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        if (_finished)
        {
            throw new InvalidOperationException("The hash has been read; a new one is needed for more data.");
        }

        _length += data.Length;
        if (_pendingLength > 0)
        {
            var take = Math.Min(64 - _pendingLength, data.Length);
            data[..take].CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength += take;
            data = data[take..];
            if (_pendingLength < 64)
            {
                return;
            }

            Compress(_state, _pending);
            _pendingLength = 0;
        }

        while (data.Length >= 64)
        {
            Compress(_state, data[..64]);
            data = data[64..];
        }

        data.CopyTo(_pending);
        _pendingLength = data.Length;
    }

    /// <summary>Writes the digest of everything appended (32 bytes); the instance takes no more data after.</summary>
    public void GetHash(Span<byte> destination)
    {
        if (destination.Length < HashSizeInBytes)
        {
            throw new ArgumentException("The destination holds fewer than 32 bytes.", nameof(destination));
        }

        if (!_finished)
        {
            // Padding: a 1 bit, zeros up to 56 bytes into a block, then the length in bits, big-endian.
            var bits = (ulong)_length * 8;
            var block = _pending.AsSpan();
            block[_pendingLength] = 0x80;
            block[(_pendingLength + 1)..].Clear();
            if (_pendingLength >= 56)
            {
                Compress(_state, block);
                block.Clear();
            }

            BinaryPrimitives.WriteUInt64BigEndian(block[56..], bits);
            Compress(_state, block);
            _finished = true;
        }

        for (var i = 0; i < 8; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination[(i * 4)..], _state[i]);
        }
    }

    private static void Compress(Span<uint> state, ReadOnlySpan<byte> block)
    {
        Span<uint> w = stackalloc uint[64];
        for (var i = 0; i < 16; i++)
        {
            w[i] = BinaryPrimitives.ReadUInt32BigEndian(block[(i * 4)..]);
        }

        for (var i = 16; i < 64; i++)
        {
            var s0 = BitOperations.RotateRight(w[i - 15], 7) ^ BitOperations.RotateRight(w[i - 15], 18) ^ (w[i - 15] >> 3);
            var s1 = BitOperations.RotateRight(w[i - 2], 17) ^ BitOperations.RotateRight(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }

        uint a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
        var k = RoundConstants;
        for (var i = 0; i < 64; i++)
        {
            var sum1 = BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25);
            var choose = (e & f) ^ (~e & g);
            var t1 = h + sum1 + choose + k[i] + w[i];
            var sum0 = BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22);
            var majority = (a & b) ^ (a & c) ^ (b & c);
            var t2 = sum0 + majority;
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }

        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }
}

/// <summary>
/// An incremental SHA-256 that hashes a small input (up to <see cref="ManagedThreshold"/> bytes expected) in managed
/// code while the process has not yet hashed <see cref="ManagedBudget"/> bytes that way, and everything else through the
/// platform: the platform's first use in a process costs milliseconds (OpenSSL loads), after which it hashes several
/// times faster per byte.
/// </summary>
/// <remarks>
/// The budget is what loading the platform's SHA-256 costs, paid in managed hashing: a command that loads one small
/// policy never loads OpenSSL, and a process that loads small policies again and again (reloads, tests, a service of
/// many tenants) pays for it once and then hashes at the platform's speed, so that in no process does the choice cost
/// more than about twice the better of the two.
/// </remarks>
internal sealed class ContentHash : IDisposable
{
    /// <summary>Inputs expected up to this size may be hashed in managed code (about 0.1 ms at this size).</summary>
    public const int ManagedThreshold = 32 * 1024;

    /// <summary>The bytes a process hashes in managed code before every input goes to the platform: about 5 ms of managed hashing, what loading OpenSSL costs.</summary>
    public const long ManagedBudget = 1024 * 1024;

    // The bytes this process has hashed in managed code so far (as expected when each hash began).
    private static long s_managedBytes;

    private readonly ManagedSha256? _managed;
    private readonly IncrementalHash? _platform;

    public ContentHash(long expectedLength)
        : this(expectedLength, ref s_managedBytes)
    {
    }

    /// <param name="expectedLength">How many bytes are expected.</param>
    /// <param name="managedBytes">The bytes hashed in managed code so far, counted here (the process's own count, or a test's).</param>
    internal ContentHash(long expectedLength, ref long managedBytes)
    {
        if (expectedLength <= ManagedThreshold && Interlocked.Add(ref managedBytes, Math.Max(expectedLength, 0)) <= ManagedBudget)
        {
            _managed = new ManagedSha256();
        }
        else
        {
            _platform = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }
    }

    /// <summary>Whether this hash runs in managed code, for the tests.</summary>
    internal bool IsManaged => _managed is not null;

    public void Append(ReadOnlySpan<byte> data)
    {
        if (_managed is not null)
        {
            _managed.Append(data);
        }
        else
        {
            _platform!.AppendData(data);
        }
    }

    public void GetHash(Span<byte> destination)
    {
        if (_managed is not null)
        {
            _managed.GetHash(destination);
        }
        else
        {
            _platform!.GetHashAndReset(destination);
        }
    }

    public void Dispose() => _platform?.Dispose();
}
