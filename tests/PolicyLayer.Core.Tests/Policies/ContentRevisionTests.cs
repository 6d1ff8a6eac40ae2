using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CsCheck;
using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Policies;

/// <summary>
/// The content revision is hashed from the source bytes when the compact form is the source minus its whitespace, and
/// written by the JSON writer otherwise: both ways must give, for every document, the revision the writer gives.
/// </summary>
public sealed class ContentRevisionTests
{
    // Strings: plain text, escapes of every kind, characters the writer escapes (HTML-sensitive, +, `, DEL), and
    // non-ASCII text of one to four UTF-8 bytes.
    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.Char["abz09 _-./:*?!#$%()[]{}|~^@=;,"].Array[0, 8].Select(c => new string(c)),
        Gen.OneOf(
            Gen.Const("\\n"), Gen.Const("\\\""), Gen.Const("\\\\"), Gen.Const("\\/"), Gen.Const("\\u0041"), Gen.Const("\\u00e9"), Gen.Const("\\t"),
            Gen.Const("<"), Gen.Const(">"), Gen.Const("&"), Gen.Const("'"), Gen.Const("+"), Gen.Const("`"), Gen.Const("\u007f"),
            Gen.Const("é"), Gen.Const("日本"), Gen.Const("😀"), Gen.Const("\u2028"), Gen.Const("ab")).Array[1, 3].Select(parts => string.Concat(parts)));

    private static readonly Gen<string> Number = Gen.OneOf(
        Gen.Const("0"), Gen.Const("-0"), Gen.Const("1E5"), Gen.Const("1e+5"), Gen.Const("1.0e-3"), Gen.Const("0.10"), Gen.Const("-12.50E+02"),
        Gen.Const("12345678901234567890123456789"), Gen.Const("1.7976931348623157e309"), Gen.Int.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static readonly Gen<string> Space = Gen.OneOf(Gen.Const(""), Gen.Const(" "), Gen.Const("\n  "), Gen.Const("\t"), Gen.Const("\r\n"));

    private static readonly Gen<string> Scalar = Gen.OneOf(Text.Select(t => "\"" + t + "\""), Number, Gen.Const("true"), Gen.Const("false"), Gen.Const("null"));

    private static readonly Gen<string> Level1 = Gen.OneOf(
        Gen.Select(Text, Space, Scalar).Array[0, 4].Select(Object),
        Gen.Select(Space, Scalar).Array[0, 4].Select(Array));

    private static readonly Gen<string> Level2 = Gen.OneOf(
        Gen.Select(Text, Space, Gen.OneOf(Scalar, Level1)).Array[0, 5].Select(Object),
        Gen.Select(Space, Gen.OneOf(Scalar, Level1)).Array[0, 5].Select(Array));

    [Test]
    public void Of_IsTheWritersRevision_OnRandomDocuments()
    {
        var document = Gen.Select(Space, Gen.OneOf(Scalar, Level1, Level2), Space, (before, json, after) => before + json + after);

        document.Sample(json => AssertWritersRevision(json), iter: 20_000);
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Of_IsTheWritersRevision_OnRandomDocumentsOfManyBlocks(bool compress)
    {
        // Hundreds of bytes to kilobytes: strings, whitespace runs and escapes fall across the 64-byte blocks the source is
        // read in. Kept bytes are moved with AVX-512's compress where the processor has it, else run by run: both ways.
        var document = Gen.Select(Space, Level2).Array[5, 60].Select(Array);
        var before = ContentRevision.CanCompress;
        ContentRevision.CanCompress = compress && before;
        try
        {
            document.Sample(json => AssertWritersRevision(json), iter: 3_000);
        }
        finally
        {
            ContentRevision.CanCompress = before;
        }
    }

    [Test]
    public void Compress_WritesExactlyTheKeptBytes_InOrder()
    {
        if (!ContentRevision.CanCompress)
        {
            Assert.Ignore("This processor has no AVX-512 VBMI2: the revision is hashed run by run, which the other tests cover.");
        }

        var block = Enumerable.Range(0, 64).Select(i => (byte)(i + 1)).ToArray();
        var random = new Random(7);
        foreach (var kept in new[] { 0UL, ~0UL, 1UL, 1UL << 63, 0xAAAAAAAAAAAAAAAAUL, 0x00FF00FF00FF00FFUL }.Concat(Enumerable.Range(0, 500).Select(_ => (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40))))
        {
            var destination = new byte[64];
            ContentRevision.Compress(block, kept, destination);

            var expected = Enumerable.Range(0, 64).Where(i => (kept >> i & 1) != 0).Select(i => block[i]).ToArray();
            destination.AsSpan(0, expected.Length).ToArray().Should().Equal(expected, $"kept {kept:X16}");
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public void TryHashSource_AcrossBlockBoundaries_KeepsStringsWholeAndDropsOnlyWhitespaceOutsideThem(bool compress)
    {
        var before = ContentRevision.CanCompress;
        ContentRevision.CanCompress = compress && before;
        try
        {
            AssertAcrossBlockBoundaries();
        }
        finally
        {
            ContentRevision.CanCompress = before;
        }
    }

    private static void AssertAcrossBlockBoundaries()
    {
        // A string with spaces inside, and whitespace outside, at every offset around the first two block boundaries.
        for (var pad = 0; pad < 140; pad++)
        {
            var source = "{" + new string(' ', pad) + "\"a b\"" + "\n:\r\n \" " + new string('x', pad % 70) + " \"" + new string('\t', pad % 3) + "}";
            var compact = "{\"a b\":\" " + new string('x', pad % 70) + " \"}";
            var bytes = Encoding.UTF8.GetBytes(source);
            using var hash = new ContentHash(bytes.Length);

            ContentRevision.TryHashSource(bytes, hash).Should().BeTrue(source);
            var digest = new byte[32];
            hash.GetHash(digest);
            digest.Should().Equal(SHA256.HashData(Encoding.UTF8.GetBytes(compact)), source);
        }
    }

    [Test]
    public void TryHashSource_AByteTheWriterEscapes_IsFoundAtEveryOffset()
    {
        for (var at = 0; at < 140; at++)
        {
            var text = new string('y', at) + "+" + new string('y', 10);
            var bytes = Encoding.UTF8.GetBytes("{\"k\":\"" + text + "\", \"n\": 1e+5}");
            using var hash = new ContentHash(bytes.Length);

            ContentRevision.TryHashSource(bytes, hash).Should().BeFalse(text);
        }

        // Outside strings the same byte (a number's exponent sign) is not a reason to give way.
        var plain = Encoding.UTF8.GetBytes("{\"k\": 1e+5 ," + new string(' ', 70) + "\"m\" : [1E+2]}");
        using var plainHash = new ContentHash(plain.Length);
        ContentRevision.TryHashSource(plain, plainHash).Should().BeTrue();
    }

    private static void AssertWritersRevision(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        using var parsed = JsonDocument.Parse(bytes);

        ContentRevision.Of(parsed.RootElement, bytes).Should().Be(ContentRevision.Written(parsed.RootElement, bytes.Length), json);
    }

    [Test]
    public void TryHashSource_OfAnIndentedPolicyOfPlainText_HashesTheSourceWithoutItsWhitespace()
    {
        var indented = "{\r\n  \"version\": \"1\",\n\t\"tools\": {\n    \"deploy_*\": { \"limits\": [ { \"counter\": \"c 1\", \"window\": 60, \"max\": 1E1 } ] }\n  }\n}\n"u8.ToArray();
        var compact = "{\"version\":\"1\",\"tools\":{\"deploy_*\":{\"limits\":[{\"counter\":\"c 1\",\"window\":60,\"max\":1E1}]}}}"u8.ToArray();

        using var hash = new ContentHash(indented.Length);
        ContentRevision.TryHashSource(indented, hash).Should().BeTrue("no string here is one the writer writes differently");
        var digest = new byte[32];
        hash.GetHash(digest);

        digest.Should().Equal(SHA256.HashData(compact));
    }

    [TestCase("a\\nb")]
    [TestCase("\\u0041")]
    [TestCase("é")]
    [TestCase("a+b")]
    [TestCase("<b>")]
    [TestCase("it's")]
    [TestCase("a&b")]
    [TestCase("`x`")]
    [TestCase("\u007f")]
    public void TryHashSource_WhenAStringMayBeWrittenDifferently_GivesWayToTheWriter(string text)
    {
        var bytes = Encoding.UTF8.GetBytes("{ \"tools\": { \"" + text + "\": {} } }");
        using var parsed = JsonDocument.Parse(bytes);
        using var hash = new ContentHash(bytes.Length);

        ContentRevision.TryHashSource(bytes, hash).Should().BeFalse();
        ContentRevision.Of(parsed.RootElement, bytes).Should().Be(ContentRevision.Written(parsed.RootElement, bytes.Length));
    }

    private static string Object((string Key, string Space, string Value)[] properties) =>
        "{" + string.Join(",", properties.Select(p => $"{p.Space}\"{p.Key}\"{p.Space}:{p.Space}{p.Value}")) + "}";

    private static string Array((string Space, string Value)[] items) =>
        "[" + string.Join(",", items.Select(i => i.Space + i.Value + i.Space)) + "]";
}
