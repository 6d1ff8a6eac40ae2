using System.Net;
using System.Security.Claims;
using System.Text;
using KestraServer;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer.Mcp;

namespace PolicyLayer.ModelContextProtocol.Tests.Hosts;

/// <summary>
/// A real ASP.NET Core Streamable HTTP server with the middleware, on a free loopback port, behind JWT bearer
/// authentication with a local symmetric key; and the SDK's own client over HTTP with a token the test issues.
/// </summary>
internal sealed class HttpMcpTestHost : IAsyncDisposable
{
    public const string Issuer = "policylayer-tests";
    public const string Audience = "policylayer-tests-mcp";

    private static readonly SymmetricSecurityKey SigningKey = new(Encoding.UTF8.GetBytes("policylayer-tests-signing-key-of-32-bytes-or-more!"));

    private readonly WebApplication _app;
    private readonly List<McpClient> _clients = [];

    private readonly SlidingLogCounterStore? _store;
    private readonly FlowStore? _flows;

    private HttpMcpTestHost(WebApplication app, FakeTimeProvider time, SlidingLogCounterStore? store, HttpServerSessionMode mode)
    {
        _app = app;
        Time = time;
        _store = store;
        SessionMode = mode;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Endpoint = new Uri(address.TrimEnd('/') + "/mcp");
        _flows = app.Services.GetService<FlowStore>();
    }

    public Uri Endpoint { get; }

    public FakeTimeProvider Time { get; }

    /// <summary>The test store the server counts in; not on a host with the real clock, which counts in the default store.</summary>
    public SlidingLogCounterStore Store => _store ?? throw new InvalidOperationException("This host runs on the real clock and counts in the default store.");

    /// <summary>The Kestra sample's flows; not on a host with other tools.</summary>
    public FlowStore Flows => _flows ?? throw new InvalidOperationException("This host serves other tools than the Kestra sample's.");

    /// <summary>The server's services.</summary>
    public IServiceProvider Services => _app.Services;

    public HttpServerSessionMode SessionMode { get; }

    /// <summary>The server's evaluator (to switch shadow mode, read the policy in force).</summary>
    public PolicyEvaluator Evaluator => _app.Services.GetRequiredService<PolicyEvaluator>();

    /// <summary>
    /// Starts a server whose HTTP transport runs in <paramref name="mode"/>, with the Kestra sample tools on a fake clock
    /// and a test store; or, with <paramref name="tools"/>, with those tools on the real clock and the default store
    /// (approval time-outs then run in real time).
    /// </summary>
    public static async Task<HttpMcpTestHost> StartAsync(
        HttpServerSessionMode mode,
        string policyJson,
        Action<PolicyLayerMcpOptions>? configure = null,
        Action<IMcpServerBuilder>? beforePolicyLayer = null,
        Action<IMcpServerBuilder>? tools = null)
    {
        var policy = PolicyDocument.Parse(policyJson);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = tools is null ? new SlidingLogCounterStore(time) : null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        if (tools is null)
        {
            builder.Services.AddSingleton<TimeProvider>(time);
            builder.Services.AddSingleton<FlowStore>();
        }

        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = Issuer,
                ValidAudience = Audience,
                IssuerSigningKey = SigningKey,
                NameClaimType = "sub",
            };
        });
        builder.Services.AddAuthorization();
        var mcp = builder.Services.AddMcpServer().WithHttpTransport(o => o.SessionMode = mode);
        if (tools is null)
        {
            mcp.WithTools<KestraTools>();
        }
        else
        {
            tools(mcp);
        }

        beforePolicyLayer?.Invoke(mcp);
        mcp.WithPolicyLayer(options =>
        {
            options.Policy = policy;
            options.CounterStore ??= store;
            configure?.Invoke(options);
        });

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapMcp("/mcp").RequireAuthorization();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new HttpMcpTestHost(app, time, store, mode);
    }

    /// <summary>A bearer token for <paramref name="user"/>, with a grant claim when <paramref name="grant"/> is given.</summary>
    public static string IssueToken(string user, string? grant = null, Dictionary<string, object>? extraClaims = null)
    {
        var claims = new Dictionary<string, object>(extraClaims ?? []) { ["sub"] = user };
        if (grant is not null)
        {
            claims["policylayer_grant"] = grant;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Claims = claims,
            SigningCredentials = new SigningCredentials(SigningKey, SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>Connects the SDK's client over Streamable HTTP with <paramref name="token"/> as its bearer token.</summary>
    public async Task<McpClient> ConnectAsync(string? token, McpClientOptions? options = null)
    {
        var transportOptions = new HttpClientTransportOptions
        {
            Endpoint = Endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
        };
        if (token is not null)
        {
            transportOptions.AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token };
        }

        var client = await McpClient.CreateAsync(
            new HttpClientTransport(transportOptions),
            options ?? new McpClientOptions { ClientInfo = new Implementation { Name = "test-agent", Version = "1" } });
        _clients.Add(client);
        return client;
    }

    /// <summary>Connects as <paramref name="user"/> with <paramref name="grant"/>.</summary>
    public Task<McpClient> ConnectAsync(string user, string? grant, McpClientOptions? options = null) =>
        ConnectAsync(IssueToken(user, grant), options);

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
