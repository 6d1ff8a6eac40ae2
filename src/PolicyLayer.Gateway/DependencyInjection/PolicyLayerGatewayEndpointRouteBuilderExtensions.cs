using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using PolicyLayer.Gateway;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the HTTP gateway that <c>AddPolicyLayerGateway</c> registers onto an application's endpoints.</summary>
public static class PolicyLayerGatewayEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Serves MCP Streamable HTTP at <paramref name="pattern"/> (POST, GET, DELETE), every message through the policy on
    /// its way to the upstream server, and the protected-resource metadata at
    /// <c>/.well-known/oauth-protected-resource</c> followed by <paramref name="pattern"/>, which a 401 points clients to.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The path of the MCP endpoint.</param>
    /// <returns>A builder for the MCP endpoint's conventions (authorization, rate limiting, CORS).</returns>
    /// <exception cref="InvalidOperationException"><c>AddPolicyLayerGateway</c> or <c>AddPolicyLayer</c> was not called.</exception>
    public static IEndpointConventionBuilder MapPolicyLayerGateway(this IEndpointRouteBuilder endpoints, string pattern = "/mcp")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var host = endpoints.ServiceProvider.GetService<GatewayHost>()
            ?? throw new InvalidOperationException("MapPolicyLayerGateway needs services.AddPolicyLayerGateway(...) (and services.AddPolicyLayer(...) for the policy).");
        var endpoint = host.Endpoint;
        var path = "/" + pattern.Trim('/');
        endpoints.MapMethods("/.well-known/oauth-protected-resource" + path, [HttpMethods.Get], context => endpoint.MetadataAsync(context, path));
        return endpoints.MapMethods(path, [HttpMethods.Post, HttpMethods.Get, HttpMethods.Delete], endpoint.HandleAsync);
    }
}
