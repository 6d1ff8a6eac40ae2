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
//
// Out-of-band approvals: --approvals inbox holds calls that need approval in the web inbox at /approvals (sign in at
// /signin with a token printed by --print-token --role approver), instead of asking the client; add
// --webhook-url URL --webhook-secret SECRET to post each held call to a webhook too (its answer comes back signed on
// /approvals/callback).
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
        TimeProvider.System,
        options["role"]));
    return 0;
}

var builder = WebApplication.CreateBuilder(args);
var config = builder.Configuration;
var signingKey = DemoTokens.SigningKey(config["jwt-key"]);
var inbox = config["approvals"] == "inbox";
builder.Services.AddSingleton<OrderBook>();
builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
{
    o.MapInboundClaims = false; // keep "sub" and "policylayer_grant" as they are in the token
    o.TokenValidationParameters = DemoTokens.ValidationParameters(signingKey);
});
builder.Services.AddAuthorization();
if (inbox)
{
    // People answer in the inbox with a browser: a cookie, issued at /signin for a valid token with role=approver.
    builder.Services.AddAuthentication().AddCookie(ApprovalsSignIn.Scheme, o => o.LoginPath = "/signin");
    builder.Services.AddAuthorization(o => o.AddPolicy("PolicyLayerApprovers", p => p
        .AddAuthenticationSchemes(ApprovalsSignIn.Scheme)
        .RequireClaim(DemoTokens.RoleClaim, "approver")));
    builder.Services.AddAntiforgery();
    builder.Services.AddPolicyLayerApprovals(o => o.Timeout = TimeSpan.FromMinutes(10));
    if (config["webhook-url"] is { Length: > 0 } webhook)
    {
        builder.Services.AddPolicyLayerWebhookApprover(o =>
        {
            o.Url = new Uri(webhook);
            o.Secret = config["webhook-secret"];
            o.SlackFormat = config["webhook-format"] == "slack";
        });
    }
}

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
if (inbox)
{
    ApprovalsSignIn.Map(app, DemoTokens.ValidationParameters(signingKey));
    app.MapPolicyLayerApprovals("/approvals");
}

await app.StartAsync();
foreach (var address in app.Urls)
{
    Console.WriteLine($"MCP endpoint: {address.TrimEnd('/')}/mcp");
}

await app.WaitForShutdownAsync();
return 0;
