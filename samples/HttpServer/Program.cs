using HttpServer;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using ModelContextProtocol.AspNetCore;
using PolicyLayer;

// A Streamable HTTP MCP server with real bearer authentication: each call is decided by the policy with the caller
// taken from the token (user: sub, grant: policylayer_grant) and the client (agent: its name).
//
//   dotnet run --project samples/HttpServer -- --urls http://127.0.0.1:5080
//   dotnet run --project samples/HttpServer -- --print-token --user alice --grant grant-demo
//
// Options: --policy PATH, --redis CONNECTION (counters shared by every instance), --jwt-key KEY (32+ bytes),
// --session-mode Stateless|Stateful|StatefulForInitializeClients, --approval-key BASE64 (shared by stateless instances).
if (args.Contains("--print-token"))
{
    var rest = args.Where(a => a != "--print-token").ToArray();
    var options = new ConfigurationBuilder().AddCommandLine(rest).Build();
    var key = DemoTokens.SigningKey(options["jwt-key"]);
    Console.WriteLine(DemoTokens.Issue(
        key,
        options["user"] ?? "alice",
        options["grant"] ?? "grant-demo",
        TimeSpan.FromHours(double.Parse(options["hours"] ?? "8", System.Globalization.CultureInfo.InvariantCulture)),
        TimeProvider.System));
    return 0;
}

var builder = WebApplication.CreateBuilder(args);
var config = builder.Configuration;
var signingKey = DemoTokens.SigningKey(config["jwt-key"]);
builder.Services.AddSingleton<OrderBook>();
builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
{
    o.MapInboundClaims = false; // keep "sub" and "policylayer_grant" as they are in the token
    o.TokenValidationParameters = DemoTokens.ValidationParameters(signingKey);
});
builder.Services.AddAuthorization();

builder.Services.AddMcpServer()
    // Initialize-era clients (such as the TypeScript SDK's) get a session, on which approvals are elicitation
    // requests; 2026-07-28 clients are served statelessly and asked through input requests.
    .WithHttpTransport(o => o.SessionMode = Enum.Parse<HttpServerSessionMode>(config["session-mode"] ?? nameof(HttpServerSessionMode.StatefulForInitializeClients)))
    .WithTools<ShopTools>()
    .WithPolicyLayer(options =>
    {
        options.PolicyPath = config["policy"] ?? Path.Combine(AppContext.BaseDirectory, "policies", "http.policy.json");
        options.GrantClaimType = DemoTokens.GrantClaim;
        if (config["approval-key"] is { } approvalKey)
        {
            options.ApprovalSigningKey = Convert.FromBase64String(approvalKey);
        }
    });

// Several instances behind a load balancer share their counters (and used approvals) in Redis.
if (config["redis"] is { Length: > 0 } redis)
{
    builder.Services.AddPolicyLayer().UseRedis(redis);
}

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();
app.MapMcp("/mcp").RequireAuthorization();

await app.StartAsync();
foreach (var address in app.Urls)
{
    Console.WriteLine($"MCP endpoint: {address.TrimEnd('/')}/mcp");
}

await app.WaitForShutdownAsync();
return 0;
