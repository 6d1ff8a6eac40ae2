using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using PolicyLayer.Cli.Common;
using PolicyLayer.Gateway;

namespace PolicyLayer.Cli.Proxy;

/// <summary>The HTTP pairings of <c>policylayer proxy</c>: <c>--listen</c> (a Streamable HTTP front) and <c>--upstream</c> (an HTTP server behind).</summary>
internal static partial class ProxyCommand
{
    /// <summary>The options of the HTTP pairings, added to the command.</summary>
    private sealed class HttpOptions
    {
        public Option<string?> Listen { get; } = new("--listen") { Description = "Serve MCP Streamable HTTP at this URL (http://HOST:PORT/PATH; port 0 picks a free one, printed on stderr) instead of stdio." };

        public Option<string?> Upstream { get; } = new("--upstream") { Description = "Front the Streamable HTTP MCP server at this URL instead of starting a command." };

        public Option<string[]> UpstreamHeaders { get; } = new("--upstream-header") { Description = "'Name: value' sent with every request to --upstream (its credentials); repeatable. The client's Authorization and cookies are never forwarded.", AllowMultipleArgumentsPerToken = false };

        public Option<FileInfo?> Grants { get; } = new("--grants") { Description = "With --listen: a grants file mapping bearer tokens (SHA-256 hashes) to grants and optional per-grant policies; see `policylayer grants add`." };

        public Option<string?> JwtAuthority { get; } = new("--jwt-authority") { Description = "With --listen: accept JWT bearer tokens from this OpenID Connect authority (its signing keys are discovered)." };

        public Option<string?> JwtSigningKey { get; } = new("--jwt-signing-key") { Description = "With --listen: accept JWT bearer tokens signed (HS256) with this key, 32 bytes or more; default (with --listen or --approvals-listen): the environment variable POLICYLAYER_JWT_SIGNING_KEY." };

        public Option<string?> JwtAudience { get; } = new("--jwt-audience") { Description = "The audience a JWT must name (required with --jwt-authority or --jwt-signing-key)." };

        public Option<string?> JwtIssuer { get; } = new("--jwt-issuer") { Description = "The issuer a JWT signed with --jwt-signing-key must name; with --jwt-authority the authority's own." };

        public Option<int> MaxSessions { get; } = new("--max-sessions") { Description = "With --listen: how many client sessions may be open at once (each with its own server).", DefaultValueFactory = _ => new PolicyLayerGatewayOptions().MaxSessions };

        public Option<double> IdleTimeout { get; } = new("--idle-timeout") { Description = "With --listen: seconds a session may go without a request before it (and its server) is ended.", DefaultValueFactory = _ => new PolicyLayerGatewayOptions().IdleTimeout.TotalSeconds };

        public Option<string?> Approvals { get; } = new("--approvals") { Description = "With --listen: hold require_approval calls for a person in the approvals inbox, served at this path of the same host (such as /approvals); approvers sign in with a JWT carrying the role approver (needs --jwt-*)." };

        public Option<string?> ApprovalsListen { get; } = new("--approvals-listen") { Description = "Over stdio: hold require_approval calls for a person in the approvals inbox, served at this URL (http://HOST:PORT/PATH); approvers sign in with a JWT carrying the role approver (needs --jwt-*)." };

        public void AddTo(Command command)
        {
            command.Options.Add(Listen);
            command.Options.Add(Upstream);
            command.Options.Add(UpstreamHeaders);
            command.Options.Add(Grants);
            command.Options.Add(JwtAuthority);
            command.Options.Add(JwtSigningKey);
            command.Options.Add(JwtAudience);
            command.Options.Add(JwtIssuer);
            command.Options.Add(MaxSessions);
            command.Options.Add(IdleTimeout);
            command.Options.Add(Approvals);
            command.Options.Add(ApprovalsListen);
        }

        public HttpSettings Read(ParseResult result) => new(
            result.GetValue(Listen),
            result.GetValue(Upstream),
            result.GetValue(UpstreamHeaders) ?? [],
            result.GetValue(Grants),
            result.GetValue(JwtAuthority),
            result.GetValue(JwtSigningKey) ?? SigningKeyFromEnvironment(result),
            result.GetValue(JwtAudience),
            result.GetValue(JwtIssuer),
            result.GetValue(MaxSessions),
            result.GetValue(IdleTimeout),
            result.GetValue(Approvals),
            result.GetValue(ApprovalsListen));

        /// <summary>
        /// <c>POLICYLAYER_JWT_SIGNING_KEY</c>, when something here authenticates with it (the HTTP front or the approvals
        /// inbox): a key exported for a gateway in the same shell must not turn a stdio proxy into a usage error.
        /// </summary>
        private string? SigningKeyFromEnvironment(ParseResult result) =>
            result.GetValue(Listen) is not null || result.GetValue(ApprovalsListen) is not null
                ? NullIfEmpty(Environment.GetEnvironmentVariable("POLICYLAYER_JWT_SIGNING_KEY"))
                : null;
    }

    private sealed record HttpSettings(
        string? Listen,
        string? Upstream,
        string[] UpstreamHeaders,
        FileInfo? Grants,
        string? JwtAuthority,
        string? JwtSigningKey,
        string? JwtAudience,
        string? JwtIssuer,
        int MaxSessions,
        double IdleTimeoutSeconds,
        string? Approvals,
        string? ApprovalsListen)
    {
        public bool UsesHttp => Listen is not null || Upstream is not null;

        /// <summary>
        /// Whether anything here was asked for (every use of these options, and every mistake in them, is the web-hosting
        /// build's to handle: see <c>HttpBuild</c>).
        /// </summary>
        public bool NeedsHttpFront =>
            UsesHttp || UpstreamHeaders.Length > 0 || Grants is not null || JwtAuthority is not null || JwtSigningKey is not null
            || JwtAudience is not null || JwtIssuer is not null || Approvals is not null || ApprovalsListen is not null
            || MaxSessions != new PolicyLayerGatewayOptions().MaxSessions || IdleTimeoutSeconds != new PolicyLayerGatewayOptions().IdleTimeout.TotalSeconds;
    }

    /// <summary>What is wrong with the HTTP options, or <see langword="null"/>; <paramref name="upstream"/> is the server behind the gateway.</summary>
    private static string? HttpProblem(HttpSettings http, string[] command, out McpUpstream? upstream, out Uri? listen)
    {
        upstream = null;
        listen = null;
        if (http.Upstream is not null && command.Length > 0)
        {
            return "give either --upstream URL or a command to start, not both.";
        }

        if (http.Upstream is null && command.Length == 0)
        {
            return "give the MCP server: a command to start (after --), or --upstream URL.";
        }

        if (http.Listen is not null)
        {
            if (!Uri.TryCreate(http.Listen, UriKind.Absolute, out listen) || listen.Scheme != Uri.UriSchemeHttp || listen.AbsolutePath.Length < 2)
            {
                return $"--listen must be an http URL with a path, such as http://127.0.0.1:8080/mcp (put TLS in front with a reverse proxy); got '{http.Listen}'.";
            }
        }
        else if (http.Grants is not null)
        {
            return "--grants needs --listen: over stdio the caller is the one who started the proxy (--grant).";
        }
        else if ((http.JwtAuthority is not null || http.JwtSigningKey is not null || http.JwtAudience is not null) && http.ApprovalsListen is null)
        {
            return "--jwt-* need --listen (or --approvals-listen, whose approvers they authenticate): over stdio the caller is the one who started the proxy (--grant).";
        }

        if (ApprovalsProblem(http, listen) is { } approvals)
        {
            return approvals;
        }

        if ((http.JwtAuthority is not null || http.JwtSigningKey is not null) && http.JwtAudience is null)
        {
            return "--jwt-authority and --jwt-signing-key need --jwt-audience.";
        }

        if (http.JwtSigningKey is { } key && Encoding.UTF8.GetByteCount(key) < 32)
        {
            return "--jwt-signing-key must be at least 32 bytes.";
        }

        if (http.MaxSessions < 1)
        {
            return "--max-sessions must be at least 1.";
        }

        if (SecondsProblem("--idle-timeout", http.IdleTimeoutSeconds) is { } idle)
        {
            return idle;
        }

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var header in http.UpstreamHeaders)
        {
            var colon = header.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                return $"--upstream-header must be 'Name: value'; got '{header}'.";
            }

            headers.Add(new(header[..colon].Trim(), header[(colon + 1)..].Trim()));
        }

        if (headers.Count > 0 && http.Upstream is null)
        {
            return "--upstream-header needs --upstream.";
        }

        try
        {
            upstream = http.Upstream is { } url
                ? McpUpstream.Http(Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri : throw new ArgumentException($"--upstream must be an http(s) URL; got '{url}'."), headers)
                : McpUpstream.Command(command[0], command[1..]);
        }
        catch (ArgumentException ex)
        {
            return ex.Message;
        }

        return null;
    }

#if !POLICYLAYER_STDIO_ONLY
    /// <summary>The HTTP pairings: load the policy, open the audit log, then serve (--listen) or relay stdio to --upstream.</summary>
    private static async Task<int> RunHttpAsync(ProxySettings settings, McpUpstream upstream, Uri? listen, TextWriter error, CancellationToken cancellationToken)
    {
        var (document, watch, policyProblem) = await LoadPolicyAsync(settings, error).ConfigureAwait(false);
        if (policyProblem is not null)
        {
            return UsageError;
        }

        var (audit, auditOpened) = await OpenAuditLogAsync(settings, error).ConfigureAwait(false);
        if (!auditOpened)
        {
            watch?.Dispose();
            return UsageError;
        }

        try
        {
            return listen is not null
                ? await RunListenerAsync(settings, document!, watch, upstream, listen, audit, error, cancellationToken).ConfigureAwait(false)
                : await RunStdioToHttpAsync(settings, document!, watch, upstream, audit, error, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (audit is not null)
            {
                await audit.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Serves Streamable HTTP at <paramref name="listen"/>, one upstream session per client session, until SIGINT/SIGTERM.</summary>
    private static async Task<int> RunListenerAsync(ProxySettings settings, PolicyDocument document, ProxyPolicyWatch? watch, McpUpstream upstream, Uri listen, StreamWriter? audit, TextWriter error, CancellationToken cancellationToken)
    {
        var http = settings.Http;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new StderrLoggerProvider(error));
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // Hosting starts an Activity and a logging scope for every request when this category is enabled at all, and it
        // logs nothing at Warning or above that the proxy does not report itself (a failed start is printed).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        ListenOn(builder, listen);
        builder.WebHost.UseGatewaySockets();
        builder.Services.AddPolicyLayer(options =>
        {
            options.Policy = document;
            options.ShadowMode = settings.Shadow;
        });
        var jwt = http.JwtAuthority is not null || http.JwtSigningKey is not null;
        var approvalsPath = http.Approvals is { } given ? "/" + given.Trim('/') : null;
        if (jwt)
        {
            AddJwtBearer(builder.Services, http, approvalsPath);
        }

        if (approvalsPath is not null)
        {
            AddApprovalInbox(builder.Services, settings);
            // After the gateway's own configuration, which sets the session template.
            builder.Services.AddOptions<PolicyLayerGatewayOptions>().PostConfigure<ApprovalInbox>((options, inbox) => options.Session.ApprovalInbox = inbox);
        }

        builder.Services.AddPolicyLayerGateway(options =>
        {
            options.Upstream = upstream;
            options.GrantsFile = http.Grants?.FullName;
            options.AcceptAuthenticatedUsers = jwt;
            options.TrustedGrant = settings.Grant;
            if (http.JwtAuthority is { } authority)
            {
                options.AuthorizationServers.Add(new Uri(authority));
            }

            options.WatchGrantPolicies = settings.Watch;
            options.GrantPolicyPollInterval = TimeSpan.FromSeconds(settings.WatchIntervalSeconds);
            options.MaxSessions = http.MaxSessions;
            options.IdleTimeout = TimeSpan.FromSeconds(http.IdleTimeoutSeconds);
            // Every session from the proxy's settings; the grant is the caller's (--grant only names the trusted local one).
            options.Session = SessionOptions(settings, audit is null ? null : TextWriter.Synchronized(audit));
        });

        await using var app = builder.Build();
        if (jwt)
        {
            app.UseAuthentication();
        }

        if (approvalsPath is not null)
        {
            app.UseAuthorization();
            MapApprovalInbox(app, approvalsPath);
        }

        try
        {
            app.MapPolicyLayerGateway(listen.AbsolutePath);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidDataException or IOException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            await error.WriteLineAsync("policylayer proxy: " + ex.Message).ConfigureAwait(false);
            return UsageError;
        }

        using var reloads = watch;
        watch?.Attach(app.Services.GetRequiredService<PolicyEvaluator>(), () => { });
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await error.WriteLineAsync($"policylayer proxy: cannot listen on {listen}: {ex.Message}").ConfigureAwait(false);
            return UsageError;
        }

        var served = ServedAt(app, listen);
        await error.WriteLineAsync($"policylayer proxy: listening on {served} (upstream {upstream.Description})").ConfigureAwait(false);
        if (approvalsPath is not null)
        {
            await error.WriteLineAsync($"policylayer proxy: approvals inbox at {new Uri(new Uri(served), approvalsPath)}").ConfigureAwait(false);
        }
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("policylayer proxy: stopping.").ConfigureAwait(false);
        }

        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        return 0;
    }

    /// <summary>The stdio client in front of an HTTP server: one gateway session, until either side ends.</summary>
    private static async Task<int> RunStdioToHttpAsync(ProxySettings settings, PolicyDocument document, ProxyPolicyWatch? watch, McpUpstream upstream, StreamWriter? audit, TextWriter error, CancellationToken cancellationToken)
    {
        var (inboxHost, inbox, approvalsStarted) = await StartApprovalsAsync(settings, error).ConfigureAwait(false);
        if (!approvalsStarted)
        {
            watch?.Dispose();
            return UsageError;
        }

        await using var approvalsHost = inboxHost;
        using var evaluator = Evaluator(settings, document);
        using var session = new McpGatewaySession(
            evaluator,
            SessionOptions(settings, audit, inbox),
            new StderrLogger(error));
        using var reloads = watch;
        watch?.Attach(evaluator, session.OnPolicyReloaded);
        await using var connection = await upstream.ConnectAsync(settings.MaxMessageBytes, cancellationToken).ConfigureAwait(false);
        var relay = await RelayStdioClientAsync(session, connection.Channel, settings, error, "stopping.", cancellationToken).ConfigureAwait(false);

        await session.CloseServerInputAsync().ConfigureAwait(false);
        try
        {
            await relay.WaitAsync(ShutdownGrace, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The server keeps a stream open; the proxy ends regardless.
        }

        return 0;
    }

    private sealed class StderrLoggerProvider(TextWriter error) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new StderrLogger(error);

        public void Dispose()
        {
        }
    }
#endif
}
