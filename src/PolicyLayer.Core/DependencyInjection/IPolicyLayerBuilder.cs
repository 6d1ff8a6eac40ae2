using Microsoft.Extensions.DependencyInjection;

namespace PolicyLayer;

/// <summary>Configures the PolicyLayer services registered by <c>AddPolicyLayer</c>, such as the counter store.</summary>
public interface IPolicyLayerBuilder
{
    /// <summary>The service collection the PolicyLayer services are registered in.</summary>
    IServiceCollection Services { get; }
}
