using System.Diagnostics;
using System.Globalization;
using System.Text;
using CsCheck;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests;

/// <summary>
/// No message up to the line limit takes more than linear time (issue 12, item 4: one 1 MiB message with many keys took
/// 77 s in the duplicate-name check, all traffic blocked). The bound asserted is loose — seconds for what takes
/// milliseconds — so that only a super-linear path can break it; the measured curve is in docs/benchmarks.md.
/// </summary>
public class LinearTimeTests
{
    private const int OneMiB = 1024 * 1024;

    /// <summary>Far above what linear work on 1 MiB takes on a busy machine, far below what quadratic work takes.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(3);

    [Test]
    public async Task ToolsCall_WithAMebibyteOfArgumentNames_IsAnsweredWithinTheBound()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();
        var line = Call("1", "echo", HostileShapes.ManyKeys(OneMiB - 200));

        var clock = Stopwatch.StartNew();
        var answer = await proxy.RequestAsync(line);
        clock.Stop();

        answer.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran echo");
        clock.Elapsed.Should().BeLessThan(Bound);
    }

    [Test]
    public void AnyHostileShape_UpToTheLineLimit_IsScannedWithinTheBound()
    {
        var scanner = new JsonRpcScanner(strict: true);
        Gen.Select(Gen.Int[0, HostileShapes.Count - 1], Gen.Int[64 * 1024, OneMiB]).Sample(
            (shape, size) =>
            {
                var message = Encoding.UTF8.GetBytes(HostileShapes.Message(shape, size));
                var clock = Stopwatch.StartNew();
                scanner.Scan(message, out _);
                clock.Stop();
                return clock.Elapsed < Bound;
            },
            iter: 24,
            threads: 1,
            print: t => $"shape {t.Item1}, {t.Item2} bytes");
    }
}

/// <summary>Messages built to make a checker do the most work per byte.</summary>
internal static class HostileShapes
{
    public const int Count = 6;

    /// <summary>A tools/call of about <paramref name="size"/> bytes in shape <paramref name="shape"/>.</summary>
    public static string Message(int shape, int size) => Call("1", "echo", shape switch
    {
        0 => ManyKeys(size),
        1 => ManyCaseVariants(size),
        2 => ManyObjects(size),
        3 => Deep(size),
        4 => LongEscapedString(size),
        _ => ManyNumbers(size),
    });

    /// <summary>One object with as many distinct member names as fit.</summary>
    public static string ManyKeys(int size)
    {
        var text = new StringBuilder(size + 32).Append('{');
        for (var i = 0; text.Length < size; i++)
        {
            text.Append(i == 0 ? "" : ",").Append("\"k").Append(i.ToString(CultureInfo.InvariantCulture)).Append("\":0");
        }

        return text.Append('}').ToString();
    }

    /// <summary>Names that share a long prefix and differ only near the end, every one distinct even ignoring case.</summary>
    public static string ManyCaseVariants(int size)
    {
        var prefix = new string('A', 32);
        var text = new StringBuilder(size + 64).Append('{');
        for (var i = 0; text.Length < size; i++)
        {
            text.Append(i == 0 ? "" : ",").Append('"').Append(prefix).Append(i.ToString("x", CultureInfo.InvariantCulture)).Append("\":1");
        }

        return text.Append('}').ToString();
    }

    /// <summary>An array of many small objects, each with the same few names.</summary>
    public static string ManyObjects(int size)
    {
        var text = new StringBuilder(size + 32).Append("{\"items\":[");
        for (var i = 0; text.Length < size; i++)
        {
            text.Append(i == 0 ? "" : ",").Append("{\"a\":1,\"b\":2,\"c\":3}");
        }

        return text.Append("]}").ToString();
    }

    /// <summary>Nesting to the scanner's depth limit, repeated.</summary>
    public static string Deep(int size)
    {
        var one = string.Concat(Enumerable.Repeat("{\"x\":", 60)) + "0" + new string('}', 60);
        var text = new StringBuilder(size + one.Length).Append("{\"items\":[");
        for (var i = 0; text.Length < size; i++)
        {
            text.Append(i == 0 ? "" : ",").Append(one);
        }

        return text.Append("]}").ToString();
    }

    /// <summary>One long string made of escapes.</summary>
    public static string LongEscapedString(int size) =>
        "{\"text\":\"" + string.Concat(Enumerable.Repeat("\\u00e9\\n", size / 8)) + "\"}";

    /// <summary>Many numbers with long mantissas.</summary>
    public static string ManyNumbers(int size)
    {
        var text = new StringBuilder(size + 32).Append("{\"n\":[");
        for (var i = 0; text.Length < size; i++)
        {
            text.Append(i == 0 ? "" : ",").Append("1.00000000000000000000001e-300");
        }

        return text.Append("]}").ToString();
    }
}
