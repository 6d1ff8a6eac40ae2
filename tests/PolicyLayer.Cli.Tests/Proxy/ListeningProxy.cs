using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace PolicyLayer.Cli.Tests.Proxy;

/// <summary>
/// A <c>policylayer proxy</c> process serving HTTP (<c>--listen</c>, or the approvals inbox of the stdio front), with the
/// contract server as its child: its stderr is kept line by line, and the URLs it prints are awaited.
/// </summary>
internal sealed partial class ListeningProxy : IAsyncDisposable
{
    public const string SigningKey = "policylayer-http-listening-signing-key-32+";
    public const string Audience = "policylayer-listening";
    public const string Issuer = "policylayer-tests";

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly TaskCompletionSource<Uri> _endpoint = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Uri> _inbox = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ListeningProxy(Process process) => _process = process;

    /// <summary>The contract server's command, as the proxy's last arguments.</summary>
    public static string[] ContractServer => ["--", Policylayer.DotnetHost, Path.Combine(AppContext.BaseDirectory, "PolicyLayer.ContractServer.dll")];

    /// <summary>Everything the proxy wrote on stderr so far.</summary>
    public string Stderr => string.Join('\n', _stderr);

    /// <summary>Starts <c>policylayer proxy ARGUMENTS</c> and waits until it listens (the MCP endpoint with --listen, else the inbox).</summary>
    public static async Task<ListeningProxy> StartAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo(Policylayer.Program) { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        info.Environment["POLICYLAYER_GRANT"] = null;
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var argument in Policylayer.ProgramArguments.Concat(["proxy", .. arguments]))
        {
            info.ArgumentList.Add(argument);
        }

        var proxy = new ListeningProxy(Process.Start(info)!);
        proxy._process.ErrorDataReceived += (_, e) => proxy.OnStderr(e.Data);
        proxy._process.BeginErrorReadLine();
        var ready = arguments.Contains("--listen") ? proxy._endpoint.Task : proxy._inbox.Task;
        try
        {
            await ready.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }

        return proxy;
    }

    /// <summary>The MCP endpoint (<c>--listen</c>).</summary>
    public Task<Uri> Endpoint => _endpoint.Task;

    /// <summary>The approvals inbox (<c>--approvals</c> or <c>--approvals-listen</c>).</summary>
    public Task<Uri> Inbox => _inbox.Task.WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>The proxy's stdin and stdout: the MCP client's side over stdio.</summary>
    public Process Process => _process;

    /// <summary>The <c>--jwt-*</c> arguments every test process takes.</summary>
    public static string[] JwtArguments => ["--jwt-signing-key", SigningKey, "--jwt-audience", Audience, "--jwt-issuer", Issuer];

    /// <summary>A JWT for <paramref name="subject"/>, signed with <see cref="SigningKey"/>, with the role claim when given.</summary>
    public static string Token(string subject, string? grant = null, string? role = null)
    {
        var claims = new Dictionary<string, object> { ["sub"] = subject };
        if (grant is not null)
        {
            claims["grant_id"] = grant;
        }

        if (role is not null)
        {
            claims["role"] = role;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Claims = claims,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(SigningKey)), SecurityAlgorithms.HmacSha256),
        });
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException)
        {
            // Exited already.
        }

        _process.Dispose();
    }

    private void OnStderr(string? line)
    {
        if (line is null)
        {
            _endpoint.TrySetException(new InvalidOperationException("policylayer proxy ended before it listened:\n" + Stderr));
            _inbox.TrySetException(new InvalidOperationException("policylayer proxy ended before it served the inbox:\n" + Stderr));
            return;
        }

        _stderr.Enqueue(line);
        if (Listening().Match(line) is { Success: true } listening)
        {
            _endpoint.TrySetResult(new Uri(listening.Groups[1].Value));
        }
        else if (InboxAt().Match(line) is { Success: true } inbox)
        {
            _inbox.TrySetResult(new Uri(inbox.Groups[1].Value));
        }
    }

    [GeneratedRegex(@"listening on (http://\S+)")]
    private static partial Regex Listening();

    [GeneratedRegex(@"approvals inbox at (http://\S+)")]
    private static partial Regex InboxAt();
}
