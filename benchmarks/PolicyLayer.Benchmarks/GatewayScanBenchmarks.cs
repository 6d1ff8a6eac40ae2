using System.Buffers;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using PolicyLayer.Gateway;
using PolicyLayer.TestUtils.Gateway;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// The gateway's per-message work on hostile input (issue 12, item 4): checking one client message (envelope, duplicate and
/// case-variant member names at every depth) and re-serialising it canonically, against <see cref="JsonDocument.Parse(ReadOnlyMemory{byte}, JsonDocumentOptions)"/>
/// of the same bytes as the linear yardstick. Time per byte that stays flat from 256 KiB to the 4 MiB line limit is linear time.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/PolicyLayer.Benchmarks -- --filter '*GatewayScanBenchmarks*' --job short</c>
/// </remarks>
[MemoryDiagnoser]
public class GatewayScanBenchmarks
{
    private readonly JsonRpcScanner _scanner = new(strict: true);
    private readonly ArrayBufferWriter<byte> _canonical = new(4 * 1024 * 1024);
    private byte[] _message = [];

    /// <summary>The message's size: one tools/call whose arguments are one object with as many member names as fit.</summary>
    [Params(256 * 1024, 1024 * 1024, 4 * 1024 * 1024 - 256)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup() => _message = Encoding.UTF8.GetBytes(HostileShapes.Message(0, Bytes - 100));

    [Benchmark(Baseline = true, Description = "JsonDocument.Parse (yardstick)")]
    public int Parse()
    {
        using var document = JsonDocument.Parse(_message);
        return document.RootElement.GetArrayLength0();
    }

    [Benchmark(Description = "gateway: check + canonical form")]
    public int CheckAndCanonicalise()
    {
        if (_scanner.Scan(_message, out var message) != ScanStatus.Message)
        {
            throw new InvalidOperationException(message.Problem);
        }

        _canonical.ResetWrittenCount();
        CanonicalJson.Write(_message, _canonical, message.IdStart, message.IdLength, "1"u8);
        return _canonical.WrittenCount;
    }
}

internal static class JsonElementExtensions
{
    /// <summary>Touches the parsed value so that the parse cannot be skipped.</summary>
    public static int GetArrayLength0(this JsonElement element) => element.ValueKind == JsonValueKind.Object ? 1 : 0;
}
