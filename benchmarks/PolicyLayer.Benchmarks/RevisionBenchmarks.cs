using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using PolicyLayer.Policies;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// A policy's content revision (SHA-256 of the document without its whitespace) beside SHA-256 of the same bytes as
/// they are: what dropping the whitespace costs, with the kept bytes moved by AVX-512's compress or run by run.
/// </summary>
[MemoryDiagnoser]
public class RevisionBenchmarks
{
    private byte[] _bytes = null!;

    [Params("large 10000", "mixed 10000")]
    public string Policy { get; set; } = "large 10000";

    [Params(true, false)]
    public bool Compress { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _bytes = PolicyFixtures.ForLoad(Policy);
        ContentRevision.CanCompress = Compress && ContentRevision.CanCompress;
        if (ContentRevision.CanCompress != Compress)
        {
            throw new InvalidOperationException("This processor has no AVX-512 VBMI2: only Compress=false can run here.");
        }
    }

    [Benchmark(Baseline = true, Description = "SHA-256 of the bytes as they are")]
    public byte[] Sha256() => SHA256.HashData(_bytes);

    [Benchmark(Description = "ContentRevision.Of")]
    public string Revision() => ContentRevision.Of(_bytes);
}
