using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using CsCheck;
using PolicyLayer.Policies;
using PolicyLayer.TestUtils;

namespace PolicyLayer.Core.Tests.Policies.Equivalence;

/// <summary>
/// The fast reader (<see cref="FastPolicyReader.TryRead"/>) against the full reader (<see cref="PolicyDocument.CompileFull"/>):
/// on any valid document it declines or builds exactly the full read's policy; on any invalid document it declines.
/// Documents come from a generator of the whole format, from mutations of its output, and from the repository's examples.
/// </summary>
public sealed partial class FastReaderEquivalenceTests
{
    /// <summary>
    /// Whether the fast reader is meant to accept every valid document written without escapes, a byte order mark or
    /// non-ASCII text: the examples below then also require it to accept each such document. It is (it leaves to the
    /// full read only a document with an object inside a condition's value, or a '{' in a value's text, which no example
    /// has).
    /// </summary>
    internal const bool FastReaderComplete = true;

    // POLICYLAYER_PROPERTY_ITERATIONS (see README, "Testing the loader") multiplies these for a longer hunt, per 10,000.
    private static readonly int Scale = int.TryParse(Environment.GetEnvironmentVariable("POLICYLAYER_PROPERTY_ITERATIONS"), out var n) ? Math.Max(1, n / 10_000) : 1;
    private static readonly int ValidCases = 600 * Scale;
    private static readonly int InvalidCases = 3000 * Scale;

    [Test]
    public void GeneratedValidPolicies_LoadFully_AndTheFastReadDeclinesOrIsTheSame()
    {
        long declined = 0, accepted = 0, withByteOrderMark = 0, withEscapes = 0;
        var divergences = new ConcurrentQueue<(string Kind, string Detail, byte[] Document)>();
        Gen.Int.Sample(
            seed =>
            {
                var random = new Random(seed);
                // One in three plain (no escapes but those JSON needs, no objects in values): more of them for the fast reader to accept.
                var plain = random.Next(3) == 0;
                var (bytes, body) = Written(PolicyGenerator.Valid(random, plain), random, plain);
                var errors = new PolicyErrorList();
                if (PolicyDocument.CompileFull(body, ref errors) is null)
                {
                    throw new AssertionException(
                        $"The generator made a document the full reader rejects (seed {seed}): {string.Join("; ", errors.Errors.Select(e => $"{e.Path}: {e.Message}"))}\n{Shown(body)}");
                }

                if (FastPolicyReader.TryRead(body.Span) is { } fast)
                {
                    Interlocked.Increment(ref accepted);
                    if (Drift(body, fast) is { } drift)
                    {
                        divergences.Enqueue(("differs from the full read", drift, body.ToArray()));
                        return;
                    }
                }
                else
                {
                    Interlocked.Increment(ref declined);
                }

                // The public entry point too: it skips the byte order mark and shows the fast read to the run-wide check.
                PolicyDocument.Parse(bytes).Compiled.Revision.Should().NotBeEmpty();
                Interlocked.Add(ref withByteOrderMark, bytes.Length - body.Length == 3 ? 1 : 0);
                Interlocked.Add(ref withEscapes, body.Span.Contains((byte)'\\') ? 1 : 0);
            },
            iter: ValidCases);

        TestContext.Progress.WriteLine(
            $"Generated valid policies: {ValidCases}; the fast reader declined {declined} ({100.0 * declined / ValidCases:0.#}%), accepted {accepted}, "
            + $"of which {divergences.Count} differ from the full read; {withByteOrderMark} with a byte order mark, {withEscapes} with escapes.");
        Report(divergences, static bytes => FastPolicyReader.TryRead(bytes) is { } fast && Drift(bytes, fast) is not null);
        (declined + accepted).Should().Be(ValidCases);
        withByteOrderMark.Should().BePositive();
        withEscapes.Should().BePositive();
    }

    [Test]
    public void MutatedPolicies_ThatTheFullReaderRejects_TheFastReaderDeclines()
    {
        var rejected = new ConcurrentDictionary<string, int>();
        var stillValid = new ConcurrentDictionary<string, int>();
        var noPlace = new ConcurrentDictionary<string, int>();
        var divergences = new ConcurrentQueue<(string Kind, string Detail, byte[] Document)>();
        Gen.Int.Sample(
            seed =>
            {
                var random = new Random(seed);
                var policy = PolicyGenerator.Valid(random, plain: random.Next(3) == 0);
                var (name, apply) = PolicyMutations.All[random.Next(PolicyMutations.All.Length)];
                if (!apply(policy, random))
                {
                    noPlace.AddOrUpdate(name, 1, (_, n) => n + 1);
                    return;
                }

                var (bytes, body) = Written(policy, random);
                var errors = new PolicyErrorList();
                if (PolicyDocument.CompileFull(body, ref errors) is not null)
                {
                    // Not invalid after all, but a document off the generator's path: the fast read must still be the same.
                    stillValid.AddOrUpdate(name, 1, (_, n) => n + 1);
                    if (FastPolicyReader.TryRead(body.Span) is { } fast && Drift(body, fast) is { } drift)
                    {
                        divergences.Enqueue(($"differs from the full read (mutation \"{name}\", still valid)", drift, body.ToArray()));
                    }

                    return;
                }

                rejected.AddOrUpdate(name, 1, (_, n) => n + 1);
                if (FastPolicyReader.TryRead(body.Span) is not null)
                {
                    divergences.Enqueue(($"accepted although invalid (mutation \"{name}\")", $"the full reader's first error: {errors.Errors[0].Path}: {errors.Errors[0].Message}", body.ToArray()));
                    return;
                }

                var load = () => PolicyDocument.Parse(bytes);
                load.Should().Throw<PolicyValidationException>();
            },
            iter: InvalidCases);

        TestContext.Progress.WriteLine($"Mutated policies: {InvalidCases}; per mutation, rejected by the full reader (each declined by the fast one) / still valid (then held to the full read like a generated one) / no place for it:");
        foreach (var (name, _) in PolicyMutations.All)
        {
            TestContext.Progress.WriteLine($"  {name}: {rejected.GetValueOrDefault(name)} / {stillValid.GetValueOrDefault(name)} / {noPlace.GetValueOrDefault(name)}");
        }

        Report(divergences, static bytes => FastPolicyReader.TryRead(bytes) is { } fast && (FullRead(bytes) is null || Drift(bytes, fast) is not null));

        // Each mutation must have made invalid documents, or it tests nothing.
        PolicyMutations.All.Select(m => m.Name).Where(n => rejected.GetValueOrDefault(n) == 0).Should().BeEmpty();
    }

    [TestCaseSource(nameof(ValidExamples))]
    public void ValidExample_LoadsFully_AndTheFastReadDeclinesOrIsTheSame(string document)
    {
        var bytes = Encoding.UTF8.GetBytes(document);
        var errors = new PolicyErrorList();
        PolicyDocument.CompileFull(bytes, ref errors).Should().NotBeNull(string.Join("; ", errors.Errors.Select(e => e.Message)));

        var fast = FastPolicyReader.TryRead(bytes);

        if (fast is not null)
        {
            FastReadCrossCheck.Check(bytes, fast);
        }

        var plain = !bytes.AsSpan().Contains((byte)'\\') && !bytes.AsSpan().ContainsAnyInRange((byte)0x80, (byte)0xFF);
        TestContext.Progress.WriteLine($"Fast reader on {TestContext.CurrentContext.Test.Name}: {(fast is null ? "declined" : "accepted")}{(plain ? "" : " (escapes or non-ASCII)")}.");
        (fast is not null || !(FastReaderComplete && plain)).Should().BeTrue("a complete fast reader accepts every valid document without escapes or non-ASCII text");
    }

    [TestCaseSource(nameof(InvalidExamples))]
    public void InvalidExample_IsRejectedByTheFullReader_AndDeclinedByTheFastReader(string document)
    {
        var bytes = Encoding.UTF8.GetBytes(document);
        var errors = new PolicyErrorList();
        PolicyDocument.CompileFull(bytes, ref errors).Should().BeNull();

        FastPolicyReader.TryRead(bytes).Should().BeNull();
    }

    /// <summary>Each README policy block, each sample policy, the valid fixtures, and the benchmarks' shapes at 100 tools.</summary>
    public static IEnumerable<TestCaseData> ValidExamples()
    {
        var readme = File.ReadAllText(RepositoryPaths.Get("README.md"));
        foreach (Match block in JsonBlock().Matches(readme))
        {
            if (block.Groups[1].Value.Contains("\"version\"", StringComparison.Ordinal))
            {
                var line = readme.AsSpan(0, block.Index).Count('\n') + 1;
                yield return new TestCaseData(block.Groups[1].Value).SetArgDisplayNames($"README.md line {line}");
            }
        }

        // The samples' own policies, not the copies a build leaves under bin/ and obj/ (which would make the count of
        // cases depend on what was built before).
        foreach (var file in Directory.GetFiles(RepositoryPaths.Get("samples"), "*.policy.json", SearchOption.AllDirectories)
            .Where(file => !Path.GetRelativePath(RepositoryPaths.Root, file).Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Order(StringComparer.Ordinal))
        {
            yield return new TestCaseData(File.ReadAllText(file)).SetArgDisplayNames(Path.GetRelativePath(RepositoryPaths.Root, file));
        }

        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "valid"), "*.json").Order(StringComparer.Ordinal))
        {
            yield return new TestCaseData(File.ReadAllText(file)).SetArgDisplayNames("Fixtures/valid/" + Path.GetFileName(file));
        }

        yield return new TestCaseData(CompiledPolicyDumpTests.EveryField).SetArgDisplayNames("CompiledPolicyDumpTests.EveryField");
        yield return new TestCaseData(Benchmarks.PolicyFixtures.Large(100)).SetArgDisplayNames("benchmark large 100");
        yield return new TestCaseData(Benchmarks.PolicyFixtures.Large(100, withLimits: false)).SetArgDisplayNames("benchmark large 100 without limits");
        yield return new TestCaseData(Benchmarks.PolicyFixtures.Mixed(100)).SetArgDisplayNames("benchmark mixed 100");
    }

    /// <summary>The invalid fixtures, one per kind of load error, and the divergences the generated cases found (made small).</summary>
    public static IEnumerable<TestCaseData> InvalidExamples() =>
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "invalid"), "*.json")
            .Where(f => Path.GetFileName(f) != "expected.json")
            .Order(StringComparer.Ordinal)
            .Select(f => new TestCaseData(File.ReadAllText(f)).SetArgDisplayNames("Fixtures/invalid/" + Path.GetFileName(f)))
            .Concat(FoundDivergences.Select(d => new TestCaseData(d.Document).SetArgDisplayNames("found: " + d.Name)));

    /// <summary>Invalid documents the fast reader once accepted, each as the shrinker left it: tools before all_tools.</summary>
    private static readonly (string Name, string Document)[] FoundDivergences =
    [
        ("an atomic group in a regex, tools before all_tools", """{"version":"1","tools":{"t":{"deny_if":[{"path":"args.x","op":"regex","value":"(?>a+)b"}]}},"all_tools":{}}"""),
        ("a key twice in an in list's object, tools before all_tools", """{"version":"1","tools":{"t":{"deny_if":[{"path":"args.x","op":"in","value":[{"a":1,"a":2}]}]}},"all_tools":{}}"""),
        ("a backreference in a regex, tools before all_tools", """{"version":"1","tools":{"t":{"deny_if":[{"path":"args.x","op":"regex","value":"(a)\\1"}]}},"all_tools":{}}"""),
    ];

    /// <summary>How <paramref name="fast"/> differs from the full read of <paramref name="utf8"/>, or null when it does not.</summary>
    private static string? Drift(ReadOnlyMemory<byte> utf8, CompiledPolicy fast)
    {
        try
        {
            FastReadCrossCheck.Check(utf8, fast);
            return null;
        }
        catch (FastReaderDriftException drift)
        {
            return drift.Message.Split('\n')[0];
        }
    }

    private static CompiledPolicy? FullRead(byte[] utf8)
    {
        var errors = new PolicyErrorList();
        return PolicyDocument.CompileFull(utf8, ref errors);
    }

    /// <summary>Fails, when the fast reader diverged, with each kind of divergence and its first document made small.</summary>
    private static void Report(ConcurrentQueue<(string Kind, string Detail, byte[] Document)> divergences, Func<byte[], bool> stillDiverges)
    {
        if (divergences.IsEmpty)
        {
            return;
        }

        var report = new StringBuilder($"The fast reader diverged from the full reader on {divergences.Count} documents.");
        foreach (var group in divergences.GroupBy(d => d.Kind).Take(5))
        {
            var (kind, detail, document) = group.First();
            report.Append("\n\n").Append(group.Count()).Append(" × ").Append(kind).Append(". The first: ").Append(detail)
                .Append("\nIts document, made small (unless its offsets or escapes matter):\n")
                .Append(DocumentShrinker.Shrink(Encoding.UTF8.GetString(document), stillDiverges));
        }

        Assert.Fail(report.ToString());
    }

    /// <summary>The document's bytes as a random style writes them (a byte order mark one time in ten), and the bytes after the mark, as the loader reads them.</summary>
    private static (byte[] Bytes, ReadOnlyMemory<byte> Body) Written(GeneratedPolicy policy, Random random, bool plain = false)
    {
        var withMark = random.Next(10) == 0;
        var bytes = policy.Write(new JsonWriterStyle(random, plain), withMark);
        return (bytes, bytes.AsMemory(withMark ? 3 : 0));
    }

    private static string Shown(ReadOnlyMemory<byte> body) => Encoding.UTF8.GetString(body.Span);

    [GeneratedRegex("```json\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();
}
