using ModelContextProtocol.AspNetCore;
using PolicyLayer.TestUtils.Hosts;

namespace PolicyLayer.ModelContextProtocol.Tests.Hosts;

/// <summary>The host contract suite on the middleware over stateful Streamable HTTP (a real ASP.NET Core host, JWT bearer authentication).</summary>
public sealed class StatefulHttpMiddlewareContractTests : HostContractTests
{
    protected override Task<ContractHost> StartHostAsync(ContractHostSettings settings) =>
        HttpMiddlewareContractHost.StartAsync(HttpServerSessionMode.Stateful, settings);
}
