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
