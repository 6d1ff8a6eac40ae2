using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;
using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests;

/// <summary>
/// No message up to the line limit takes more than linear time (issue 12, item 4: one 1 MiB message with many keys took
/// 77 s in the duplicate-name check, all traffic blocked). Wall-clock bounds break on a loaded machine, so each test
/// compares with linear work on the same bytes, timed in the same test: a linear check stays within a constant factor
/// of it at every size, a quadratic one is hundreds to thousands of times slower at these sizes. The measured curve is
/// in docs/benchmarks.md.
/// </summary>
public class LinearTimeTests
{
    private const int OneMiB = 1024 * 1024;

    /// <summary>Far above the constant factor of a linear check (about 10), far below what a quadratic one costs here.</summary>
    private const double Factor = 100;

    [Test]
    public async Task ToolsCall_WithAMebibyteOfArgumentNames_IsAnsweredAsFastAsAMebibyteString()
    {
        using var proxy = new GatewayHarness();
        await proxy.InitializeAsync();
        var linear = Call("1", "echo", "{\"text\":\"" + new string('x', OneMiB - 200) + "\"}");
        var hostile = Call("2", "echo", HostileShapes.ManyKeys(OneMiB - 200));

        var baseline = await RoundTripAsync(proxy, linear);
        var clock = Stopwatch.StartNew();
        proxy.Send(hostile);
        var answer = JsonDocument.Parse(await proxy.ReceiveLineAsync(TimeSpan.FromMinutes(5))).RootElement;
        clock.Stop();

        answer.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString().Should().Be("ran echo");
        clock.Elapsed.Should().BeLessThan(baseline * Factor, $"a 1 MiB string took {baseline.TotalMilliseconds:0} ms through the same gateway");
    }

    [Test]
    public void AnyHostileShape_UpToTheLineLimit_IsScannedWithinAConstantFactorOfParsingIt()
    {
        var scanner = new JsonRpcScanner(strict: true);
        Gen.Select(Gen.Int[0, HostileShapes.Count - 1], Gen.Int[64 * 1024, OneMiB]).Sample(
            (shape, size) =>
            {
                var message = Encoding.UTF8.GetBytes(HostileShapes.Message(shape, size));
                var parse = Fastest(() => JsonDocument.Parse(message).Dispose());
                var scan = Fastest(() => scanner.Scan(message, out _));
                return scan < parse * Factor + TimeSpan.FromMilliseconds(5);
            },
            iter: 24,
            threads: 1,
            print: t => $"shape {t.Item1}, {t.Item2} bytes");
    }

    private static async Task<TimeSpan> RoundTripAsync(GatewayHarness proxy, string line)
    {
        var clock = Stopwatch.StartNew();
        proxy.Send(line);
        await proxy.ReceiveLineAsync(TimeSpan.FromMinutes(5));
        return clock.Elapsed;
    }

    /// <summary>The fastest of three runs: the least disturbed by other work on the machine.</summary>
    private static TimeSpan Fastest(Action work)
    {
        var best = TimeSpan.MaxValue;
        for (var i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            work();
            clock.Stop();
            best = clock.Elapsed < best ? clock.Elapsed : best;
        }

        return best;
    }
}
