using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using PolicyLayer.Gateway;

namespace PolicyLayer.Cli.Proxy;

/// <summary>
/// The approvals inbox of <c>policylayer proxy</c>: <c>--approvals PATH</c> serves it beside <c>--listen</c>, on the same
/// host; <c>--approvals-listen URL</c> serves it on a host of its own for the stdio front. Approvers are people with a JWT
/// (the proxy's <c>--jwt-*</c> settings) that carries the role <c>approver</c>; a browser signs in at <c>PATH/signin</c>.
/// </summary>
internal static partial class ProxyCommand
{
    /// <summary>The role claim value that makes a JWT's subject an approver.</summary>
    private const string ApproverRole = "approver";

    /// <summary>The cookie a browser approver's token is kept in after signing in; sent only under the inbox's path.</summary>
    private const string ApproverCookie = "policylayer_approver";

    /// <summary>The longest token the sign-in form takes, in bytes.</summary>
    private const int MaxSignInBytes = 16 * 1024;

#if !POLICYLAYER_STDIO_ONLY
    /// <summary>
    /// Accepts JWT bearer tokens as the proxy's <c>--jwt-*</c> options say. Under <paramref name="approvalsPath"/> a
    /// request without an <c>Authorization</c> header may bring the token in the sign-in cookie instead, and a browser
    /// that has none is sent to the sign-in page.
    /// </summary>
    private static void AddJwtBearer(IServiceCollection services, HttpSettings http, string? approvalsPath)
    {
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            o.Authority = http.JwtAuthority;
            o.RequireHttpsMetadata = http.JwtAuthority?.StartsWith("https:", StringComparison.OrdinalIgnoreCase) ?? true;
            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidAudience = http.JwtAudience,
                ValidateAudience = true,
                ValidIssuer = http.JwtIssuer,
                ValidateIssuer = http.JwtIssuer is not null || http.JwtAuthority is not null,
                IssuerSigningKey = http.JwtSigningKey is { } key ? new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)) : null,
                ValidateIssuerSigningKey = true,
                NameClaimType = "sub",
            };
            if (approvalsPath is not null)
            {
                o.Events = new JwtBearerEvents
                {
                    OnMessageReceived = context =>
                    {
                        var request = context.Request;
                        if (request.Path.StartsWithSegments(approvalsPath, StringComparison.Ordinal)
                            && request.Headers.Authorization.Count == 0
                            && request.Cookies.TryGetValue(ApproverCookie, out var token))
                        {
                            context.Token = token;
                        }

                        return Task.CompletedTask;
                    },
                    OnChallenge = context =>
                    {
                        var request = context.Request;
                        if (request.Path.StartsWithSegments(approvalsPath, StringComparison.Ordinal)
                            && HttpMethods.IsGet(request.Method)
                            && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
                        {
                            context.HandleResponse();
                            context.Response.Redirect(request.PathBase + approvalsPath + "/signin");
                        }

                        return Task.CompletedTask;
                    },
                };
            }
        });
    }

    /// <summary>
    /// Registers the approvals inbox: held calls wait (or are refused with an id) for a person, the page's answers are
    /// anti-forgery checked, and only JWT subjects with the role <c>approver</c> (claim <c>role</c> or <c>roles</c>) pass.
    /// </summary>
    private static void AddApprovalInbox(IServiceCollection services, ProxySettings settings)
    {
        services.AddPolicyLayerApprovals(o => o.Timeout = TimeSpan.FromSeconds(settings.ApprovalTimeoutSeconds));
        services.AddAuthorization(o => o.AddPolicy(ApprovalsEndpointOptions.DefaultAuthorizationPolicy, p => p
            .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
            .RequireAuthenticatedUser()
            .RequireAssertion(c => c.User.HasClaim("role", ApproverRole) || c.User.HasClaim("roles", ApproverRole))));
        services.AddAntiforgery();
    }

    /// <summary>Maps the inbox at <paramref name="path"/> and its sign-in page at <c>path/signin</c>.</summary>
    private static void MapApprovalInbox(WebApplication app, string path)
    {
        app.MapGet(path + "/signin", static context =>
        {
            // The form carries an anti-forgery token, so that another site cannot sign a browser in with a token of its choosing.
            var tokens = context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context);
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = "default-src 'none'; form-action 'self'; frame-ancestors 'none'";
            headers.CacheControl = "no-store";
            context.Response.ContentType = "text/html; charset=utf-8";
            var field = $"<input type=\"hidden\" name=\"{HtmlEncoder.Default.Encode(tokens.FormFieldName)}\" value=\"{HtmlEncoder.Default.Encode(tokens.RequestToken ?? string.Empty)}\">";
            return context.Response.WriteAsync($"""
                <!doctype html><html><head><meta charset="utf-8"><title>PolicyLayer approvals: sign in</title></head>
                <body><form method="post">{field}<label>Approver token (a JWT with the role approver)<br>
                <textarea name="token" rows="6" cols="80" required></textarea></label><br><button>Sign in</button></form></body></html>
                """, context.RequestAborted);
        }).AllowAnonymous();
        app.MapPost(path + "/signin", async context =>
        {
            if (context.Request.ContentLength is not (> 0 and <= MaxSignInBytes) || !context.Request.HasFormContentType)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsync($"Post the form field 'token' (at most {MaxSignInBytes} bytes).", context.RequestAborted).ConfigureAwait(false);
                return;
            }

            try
            {
                await context.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(context).ConfigureAwait(false);
            }
            catch (AntiforgeryValidationException)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsync("The sign-in form's anti-forgery token is missing or not valid; open the sign-in page again and sign in from it.", context.RequestAborted).ConfigureAwait(false);
                return;
            }

            var token = (await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false))["token"].ToString().Trim();
            context.Response.Cookies.Append(ApproverCookie, token, new CookieOptions
            {
                Path = context.Request.PathBase + path,
                HttpOnly = true,
                Secure = context.Request.IsHttps,
                SameSite = SameSiteMode.Strict,
                IsEssential = true,
            });

            // The inbox checks the token: a wrong one is answered there, 401.
            context.Response.Redirect(context.Request.PathBase + path, permanent: false);
        }).AllowAnonymous();
        app.MapPolicyLayerApprovals(path);
    }

#endif

    /// <summary>What is wrong with the approvals options, or <see langword="null"/>.</summary>
    private static string? ApprovalsProblem(HttpSettings http, Uri? listen)
    {
        var jwt = http.JwtAuthority is not null || http.JwtSigningKey is not null;
        if (http.Approvals is { } path)
        {
            if (listen is null)
            {
                return "--approvals needs --listen; over stdio serve the inbox with --approvals-listen URL.";
            }

            if (!path.StartsWith('/') || path.Length < 2 || path.Contains('?', StringComparison.Ordinal) || path.Contains('#', StringComparison.Ordinal)
                || string.Equals(path.TrimEnd('/'), listen.AbsolutePath.TrimEnd('/'), StringComparison.Ordinal))
            {
                return $"--approvals must be a path such as /approvals, other than the --listen path; got '{path}'.";
            }
        }

        if (http.ApprovalsListen is { } url)
        {
            if (listen is not null)
            {
                return "--approvals-listen is for the stdio front; with --listen serve the inbox on the same host with --approvals PATH.";
            }

            if (!Uri.TryCreate(url, UriKind.Absolute, out var approvalsListen) || approvalsListen.Scheme != Uri.UriSchemeHttp || approvalsListen.AbsolutePath.Length < 2)
            {
                return $"--approvals-listen must be an http URL with a path, such as http://127.0.0.1:8081/approvals; got '{url}'.";
            }
        }

        if ((http.Approvals is not null || http.ApprovalsListen is not null) && !jwt)
        {
            return "the approvals inbox needs --jwt-signing-key or --jwt-authority: approvers sign in with a JWT that carries the role 'approver'.";
        }

        return null;
    }

#if !POLICYLAYER_STDIO_ONLY
    /// <summary>Tells Kestrel to listen where <paramref name="url"/> says (its host: an address, localhost, or any).</summary>
    private static void ListenOn(WebApplicationBuilder builder, Uri url) => builder.WebHost.UseKestrel(kestrel =>
    {
        var port = url.Port;
        if (url.Host is "localhost")
        {
            kestrel.ListenLocalhost(port);
        }
        else if (url.Host is "0.0.0.0" or "*" or "+")
        {
            kestrel.ListenAnyIP(port);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(url.Host.Trim('[', ']')), port);
        }
    });

    /// <summary>The URL a started host serves <paramref name="url"/>'s path at (with the port Kestrel picked for port 0).</summary>
    private static string ServedAt(WebApplication app, Uri url)
    {
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return string.Create(CultureInfo.InvariantCulture, $"http://{url.Host}:{address.Port}{url.AbsolutePath}");
    }

    /// <summary>
    /// For the stdio front: the inbox on a host of its own at <c>--approvals-listen</c>, started (<c>Host</c> is
    /// <see langword="null"/> when none was asked for). <c>Started</c> is false, with the reason on
    /// <paramref name="error"/>, when it cannot listen.
    /// </summary>
    private static async Task<(IAsyncDisposable? Host, ApprovalInbox? Inbox, bool Started)> StartApprovalsAsync(ProxySettings settings, TextWriter error)
    {
        if (settings.Http.ApprovalsListen is not { } url)
        {
            return (null, null, true);
        }

        var listen = new Uri(url);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new StderrLoggerProvider(error));
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        ListenOn(builder, listen);
        AddJwtBearer(builder.Services, settings.Http, listen.AbsolutePath);
        AddApprovalInbox(builder.Services, settings);
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        MapApprovalInbox(app, listen.AbsolutePath);
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            await error.WriteLineAsync($"policylayer proxy: cannot serve the approvals inbox at {url}: {ex.Message}").ConfigureAwait(false);
            return (null, null, false);
        }

        await error.WriteLineAsync($"policylayer proxy: approvals inbox at {ServedAt(app, listen)}").ConfigureAwait(false);
        return (app, app.Services.GetRequiredService<ApprovalInbox>(), true);
    }
#else
    /// <summary>
    /// In the build without a web host an inbox is never asked for here: <c>--approvals-listen</c> hands the command line
    /// to the build that has one (<see cref="Common.HttpBuild"/>) before anything starts.
    /// </summary>
    private static Task<(IAsyncDisposable? Host, ApprovalInbox? Inbox, bool Started)> StartApprovalsAsync(ProxySettings settings, TextWriter error) =>
        Task.FromResult<(IAsyncDisposable?, ApprovalInbox?, bool)>((null, null, true));
#endif
}
