using System.Security.Cryptography;
using System.Text;
using CsCheck;
using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Policies;

/// <summary>
/// The managed SHA-256 that hashes small documents' revisions (so that loading them does not load OpenSSL) gives the
/// platform's digest for every input, however it is fed.
/// </summary>
public sealed class ManagedSha256Tests
{
    [TestCase("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [TestCase("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [TestCase("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public void KnownAnswers_FromFips180(string text, string expectedHex)
    {
        var digest = new byte[32];

        ManagedSha256.HashData(Encoding.ASCII.GetBytes(text), digest);

        Convert.ToHexStringLower(digest).Should().Be(expectedHex);
    }

    [Test]
    public void EveryLengthAroundTheBlockAndPaddingEdges_MatchesThePlatform()
    {
        // 55, 56 and 64 bytes are where the padding needs one block or two; 0 to 300 covers a few blocks of each case.
        var data = new byte[300];
        new Random(19).NextBytes(data);
        var digest = new byte[32];
        for (var length = 0; length <= data.Length; length++)
        {
            ManagedSha256.HashData(data.AsSpan(0, length), digest);

            digest.Should().Equal(SHA256.HashData(data.AsSpan(0, length)), $"at {length} bytes");
        }
    }

    [Test]
    public void FedInPiecesOfAnySize_MatchesThePlatform()
    {
        Gen.Byte.Array[0, 2000].SelectMany(bytes => Gen.Int[1, 130].Array[1, 40].Select(cuts => (bytes, cuts))).Sample(t =>
        {
            var (bytes, cuts) = t;
            var sha = new ManagedSha256();
            var offset = 0;
            foreach (var cut in cuts)
            {
                var take = Math.Min(cut, bytes.Length - offset);
                sha.Append(bytes.AsSpan(offset, take));
                offset += take;
            }

            sha.Append(bytes.AsSpan(offset));
            var digest = new byte[32];
            sha.GetHash(digest);
            return digest.AsSpan().SequenceEqual(SHA256.HashData(bytes));
        });
    }

    [Test]
    public void AfterTheDigestIsRead_MoreDataIsRefused_AndTheDigestReadsTheSameAgain()
    {
        var sha = new ManagedSha256();
        sha.Append("abc"u8);
        var first = new byte[32];
        var second = new byte[32];
        sha.GetHash(first);
        sha.GetHash(second);

        second.Should().Equal(first);
        var append = () => sha.Append("d"u8);
        append.Should().Throw<InvalidOperationException>();
    }

    [TestCase(10)]
    [TestCase(ContentHash.ManagedThreshold)]
    [TestCase(ContentHash.ManagedThreshold + 1)]
    public void ContentHash_OnEitherSideOfItsThreshold_GivesTheSha256(int expectedLength)
    {
        var data = new byte[5000];
        new Random(expectedLength).NextBytes(data);
        using var hash = new ContentHash(expectedLength);
        hash.Append(data.AsSpan(0, 1234));
        hash.Append(data.AsSpan(1234));
        var digest = new byte[32];

        hash.GetHash(digest);

        digest.Should().Equal(SHA256.HashData(data));
    }

    [Test]
    public void ContentHash_HashesSmallInputsInManagedCode_UntilTheBudgetIsSpent_ThenThroughThePlatform()
    {
        long spent = 0;
        var data = new byte[20_000];
        new Random(3).NextBytes(data);
        var expected = SHA256.HashData(data);
        var digest = new byte[32];
        var managed = 0;
        for (var i = 0; i < 60; i++)
        {
            using var hash = new ContentHash(data.Length, ref spent);
            managed += hash.IsManaged ? 1 : 0;
            if (i < ContentHash.ManagedBudget / data.Length)
            {
                hash.IsManaged.Should().BeTrue($"hash {i} fits in what is left of the budget");
            }

            hash.Append(data);
            hash.GetHash(digest);
            digest.Should().Equal(expected, "the digest is the same whichever hashes");
        }

        managed.Should().Be((int)(ContentHash.ManagedBudget / data.Length), "once the managed bytes would have paid for loading the platform, every input goes there");
        using (var large = new ContentHash(ContentHash.ManagedThreshold + 1, ref spent))
        {
            large.IsManaged.Should().BeFalse();
        }

        long fresh = 0;
        using var big = new ContentHash(ContentHash.ManagedThreshold + 1, ref fresh);
        big.IsManaged.Should().BeFalse("an input over the threshold goes to the platform even with the budget whole");
        fresh.Should().Be(0, "only managed hashing spends the budget");
    }
}
