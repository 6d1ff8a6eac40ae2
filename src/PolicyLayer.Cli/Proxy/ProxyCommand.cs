using System.CommandLine;

namespace PolicyLayer.Cli.Proxy;

/// <summary>`policylayer proxy --policy POLICY -- CMD ARGS...`: the stdio gateway.</summary>
internal static class ProxyCommand
{
    public static Command Create() => new("proxy", "(not yet implemented)");
}
