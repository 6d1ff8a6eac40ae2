using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PolicyLayer.Gateway.Tests.Approvals;

/// <summary>
/// A real Kestrel host of the approvals inbox on a free loopback port, with cookie sign-in (GET /login?user=..&amp;role=..,
/// for tests only) and the approvers' policy requiring the role <c>approver</c>.
/// </summary>
internal sealed class ApprovalsWebHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ApprovalsWebHost(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public ApprovalInbox Inbox => _app.Services.GetRequiredService<ApprovalInbox>();

    public static async Task<ApprovalsWebHost> StartAsync(Action<IServiceCollection>? services = null, Action<ApprovalInboxOptions>? inbox = null, int refreshMilliseconds = 250)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(o =>
        {
            o.Events.OnRedirectToLogin = context => { context.Response.StatusCode = StatusCodes.Status401Unauthorized; return Task.CompletedTask; };
            o.Events.OnRedirectToAccessDenied = context => { context.Response.StatusCode = StatusCodes.Status403Forbidden; return Task.CompletedTask; };
        });
        builder.Services.AddAuthorization(o => o.AddPolicy("PolicyLayerApprovers", p => p.RequireRole("approver")));
        builder.Services.AddAntiforgery();
        builder.Services.AddPolicyLayerApprovals(o =>
        {
            o.HoldMode = ApprovalHoldMode.Wait;
            inbox?.Invoke(o);
        });
        services?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/login", async context =>
        {
            var identity = new ClaimsIdentity(
                [new Claim(ClaimTypes.Name, context.Request.Query["user"].ToString()), new Claim(ClaimTypes.Role, context.Request.Query["role"].ToString())],
                CookieAuthenticationDefaults.AuthenticationScheme);
            await context.SignInAsync(new ClaimsPrincipal(identity));
        });
        app.MapPolicyLayerApprovals("/approvals", o => o.RefreshMilliseconds = refreshMilliseconds);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ApprovalsWebHost(app, new Uri(address));
    }

    /// <summary>A client signed in as <paramref name="user"/> with <paramref name="role"/>, keeping its cookies.</summary>
    public async Task<HttpClient> SignInAsync(string user, string role = "approver")
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = Address };
        (await client.GetAsync(new Uri($"/login?user={Uri.EscapeDataString(user)}&role={role}", UriKind.Relative))).EnsureSuccessStatusCode();
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
