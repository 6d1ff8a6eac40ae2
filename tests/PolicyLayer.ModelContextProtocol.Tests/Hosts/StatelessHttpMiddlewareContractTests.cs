using ModelContextProtocol.AspNetCore;
using PolicyLayer.TestUtils.Hosts;

namespace PolicyLayer.ModelContextProtocol.Tests.Hosts;

/// <summary>
/// The host contract suite on the middleware over stateless Streamable HTTP (a real ASP.NET Core host, JWT bearer
/// authentication): no request has a session, so session-scoped limits refuse every call (never pooling callers), and
/// approvals go through input requests.
/// </summary>
public sealed class StatelessHttpMiddlewareContractTests : HostContractTests
{
    protected override bool HasSessions => false;

    protected override Task<ContractHost> StartHostAsync(ContractHostSettings settings) =>
        HttpMiddlewareContractHost.StartAsync(HttpServerSessionMode.Stateless, settings);
}
