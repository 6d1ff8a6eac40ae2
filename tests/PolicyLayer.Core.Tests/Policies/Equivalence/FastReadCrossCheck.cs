using System.Collections.Concurrent;
using System.Text;
using PolicyLayer.Policies;

namespace PolicyLayer.Core.Tests.Policies.Equivalence;

/// <summary>
/// Holds a fast read to the full read of the same bytes: a policy the fast reader accepts must be one the full reader
/// accepts too (else a policy that should not load would), and must dump exactly as the full read's. A declined read
/// (null) requires nothing: the full read runs after it anyway. Thread-safe; counts every read it is shown.
/// </summary>
internal static class FastReadCrossCheck
{
    private const int DocumentShown = 2000;

    private static long _accepted;
    private static long _declined;
    private static readonly ConcurrentQueue<string> Failures = new();

    /// <summary>How many reads the fast reader accepted (each then checked against the full read).</summary>
    public static long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>How many reads the fast reader declined.</summary>
    public static long Declined => Interlocked.Read(ref _declined);

    /// <summary>Every difference found so far (also thrown where it was found), for the end of the run.</summary>
    public static IReadOnlyCollection<string> FailuresSoFar => Failures;

    /// <summary>Sets every load of this test run to be checked (from an assembly's <c>[SetUpFixture]</c>).</summary>
    public static void Install() => PolicyDocument.FastReadObserver = Observe;

    /// <summary>Stops checking, prints the counts, and fails when any fast read differed (in case a test caught the exception).</summary>
    public static void UninstallAndReport()
    {
        PolicyDocument.FastReadObserver = null;
        TestContext.Progress.WriteLine($"Fast policy reader: {Accepted} loads accepted (each equal to the full read), {Declined} declined.");
        if (!Failures.IsEmpty)
        {
            Assert.Fail($"{Failures.Count} fast reads differed from the full read. The first: {Failures.First()}");
        }
    }

    /// <summary>The observer the fixture installs: <see cref="Check"/> on every load, counting and remembering what it finds.</summary>
    public static void Observe(ReadOnlyMemory<byte> bytes, CompiledPolicy? fast)
    {
        if (fast is null)
        {
            Interlocked.Increment(ref _declined);
            return;
        }

        Interlocked.Increment(ref _accepted);
        try
        {
            Check(bytes, fast);
        }
        catch (FastReaderDriftException drift)
        {
            Failures.Enqueue(drift.Message);
            throw;
        }
    }

    /// <summary>Throws <see cref="FastReaderDriftException"/> when <paramref name="fast"/> is not what the full read makes of <paramref name="bytes"/>.</summary>
    public static void Check(ReadOnlyMemory<byte> bytes, CompiledPolicy fast)
    {
        var errors = new PolicyErrorList();
        var full = PolicyDocument.CompileFull(bytes, ref errors);
        if (full is null)
        {
            var first = errors.Count > 0 ? errors.Errors[0].Message : "(no error reported)";
            throw new FastReaderDriftException(
                $"The fast reader accepted a document the full reader rejects ({errors.Count} errors; the first: {first}).{Environment.NewLine}{Shown(bytes)}");
        }

        string fastDump;
        try
        {
            // Dumping builds every rule the fast read kept as text: one that does not build is a difference too.
            fastDump = CompiledPolicyDump.Of(fast);
        }
        catch (Exception ex) when (ex is not FastReaderDriftException)
        {
            throw new FastReaderDriftException($"The fast reader's policy does not build whole: {ex.GetType().Name}: {ex.Message}{Environment.NewLine}{Shown(bytes)}");
        }

        if (CompiledPolicyDump.FirstDifference(CompiledPolicyDump.Of(full), fastDump) is { } difference)
        {
            throw new FastReaderDriftException(
                $"The fast reader built a different policy from the full reader's, first at {difference}.{Environment.NewLine}{Shown(bytes)}");
        }
    }

    private static string Shown(ReadOnlyMemory<byte> bytes)
    {
        var text = Encoding.UTF8.GetString(bytes.Span);
        return "The document" + (text.Length > DocumentShown ? $" (its first {DocumentShown} of {text.Length} characters)" : "") + ":"
            + Environment.NewLine + (text.Length > DocumentShown ? text[..DocumentShown] : text);
    }
}

/// <summary>The fast reader made something of a document that the full reader did not.</summary>
internal sealed class FastReaderDriftException(string message) : Exception(message);
