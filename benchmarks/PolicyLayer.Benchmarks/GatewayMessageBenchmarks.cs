using BenchmarkDotNet.Attributes;
using PolicyLayer.Gateway;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// The gateway's envelope scan of the two messages of one ordinary tools/call (issue 19, the proxy against a byte relay):
/// the client's request, checked strictly, and the server's answer, only read. Time and allocation per message.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/PolicyLayer.Benchmarks -- --filter '*GatewayMessageBenchmarks*' --job short</c>
/// </remarks>
[MemoryDiagnoser]
public class GatewayMessageBenchmarks
{
    private static readonly byte[] Request = """{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"""u8.ToArray();
    private static readonly byte[] Answer = """{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"ok"}],"isError":false}}"""u8.ToArray();

    private readonly JsonRpcScanner _client = new(strict: true);
    private readonly JsonRpcScanner _server = new(strict: false);

    [Benchmark(Description = "client's tools/call, checked")]
    public int ScanRequest() => _client.Scan(Request, out var message) == ScanStatus.Message ? message.IdLength : throw new InvalidOperationException(message.Problem);

    [Benchmark(Description = "server's answer, read")]
    public int ScanAnswer() => _server.Scan(Answer, out var message) == ScanStatus.Message ? message.IdLength : throw new InvalidOperationException(message.Problem);
}
