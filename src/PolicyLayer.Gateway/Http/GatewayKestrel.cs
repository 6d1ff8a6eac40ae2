using Microsoft.AspNetCore.Hosting;

namespace PolicyLayer.Gateway;

/// <summary>Kestrel as the gateway's own host (<c>policylayer proxy --listen</c>) runs it, and as the latency benchmark measures it.</summary>
internal static class GatewayKestrel
{
    /// <summary>
    /// Sockets with <c>UnsafePreferInlineScheduling</c>: a request is parsed and handled, and its answer written to the
    /// socket, on the thread that received it, instead of being passed from the socket's thread to an I/O queue and from
    /// there to the thread pool (and the answer back through the I/O queue): three hand-offs between threads fewer per call.
    /// </summary>
    /// <remarks>
    /// It is safe for the gateway because its pipeline is asynchronous all the way (no handler blocks the thread it runs
    /// on: the store, approvals and the upstream are awaited). The runtime hands each socket completion to a thread-pool
    /// thread unless <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>; the <c>policylayer</c> tool sets that for
    /// its own process, so there "inline" means on the socket engine's thread (measured faster; README, "Latency").
    /// </remarks>
    public static IWebHostBuilder UseGatewaySockets(this IWebHostBuilder webHost) =>
        webHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
}
