using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;

namespace PolicyLayer.TestUtils.Redis;

/// <summary>
/// A throw-away <c>redis-server</c> that a test starts itself on a free loopback port, without persistence,
/// and kills at the end. It can be killed and restarted on the same port to test outages.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    /// <summary>How to get the server on a machine that lacks it.</summary>
    public const string InstallHint = "redis-server or redis-cli was not found on PATH. Install them: apt-get update && apt-get install -y redis-server";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private readonly string _executable;
    private readonly string[] _extraArguments;
    private Process? _process;

    private RedisServer(string executable, int port, string[] extraArguments)
    {
        _executable = executable;
        Port = port;
        _extraArguments = extraArguments;
    }

    /// <summary>The loopback port the server listens on.</summary>
    public int Port { get; }

    /// <summary>A StackExchange.Redis configuration string for the server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Whether the server process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The path of <c>redis-server</c>, or <see langword="null"/> when it is not installed.</summary>
    public static string? FindExecutable(string name = "redis-server")
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin").Append("/usr/local/bin"))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>
    /// Starts a server for a test. When <c>redis-server</c> is missing, the test fails under <c>CI=true</c>
    /// (a CI run must never skip it) and is ignored otherwise.
    /// </summary>
    /// <param name="extraArguments">More redis-server arguments, such as <c>--cluster-enabled yes</c>.</param>
    public static async Task<RedisServer> StartForTestAsync(params string[] extraArguments)
    {
        var server = new RedisServer(RequireExecutable("redis-server"), FreePort(), extraArguments);
        await server.StartAsync();
        return server;
    }

    /// <summary>
    /// The path of a Redis program (<c>redis-server</c>, <c>redis-cli</c>); when it is missing, the test fails under
    /// <c>CI=true</c> (a CI run must never skip it) and is ignored otherwise.
    /// </summary>
    public static string RequireExecutable(string name)
    {
        var executable = FindExecutable(name);
        if (executable is null)
        {
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail(InstallHint);
            }

            Assert.Ignore(InstallHint);
        }

        return executable!;
    }

    /// <summary>Starts a server on a free loopback port; throws when <c>redis-server</c> is missing.</summary>
    public static async Task<RedisServer> StartNewAsync()
    {
        var server = new RedisServer(FindExecutable() ?? throw new InvalidOperationException(InstallHint), FreePort(), []);
        await server.StartAsync();
        return server;
    }

    /// <summary>Starts the process (again, on the same port) and waits until it answers PING.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        var info = new ProcessStartInfo(_executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no",
            "--daemonize", "no", "--loglevel", "warning",
        }.Concat(_extraArguments))
        {
            info.ArgumentList.Add(arg);
        }

        var output = new StringBuilder();
        var process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        AppDomain.CurrentDomain.ProcessExit += KillOnExit;

        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode}: {output}");
            }

            if (await PingAsync())
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new InvalidOperationException($"redis-server did not answer PING on port {Port} within {StartTimeout}: {output}");
    }

    /// <summary>Kills the process at once (no shutdown, no save), as a crash would.</summary>
    public async Task KillAsync()
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= KillOnExit;
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
        process.Dispose();
    }

    /// <summary>Sends one command as plain RESP and returns the raw reply, for checks that need no client library.</summary>
    /// <param name="args">The command and its arguments.</param>
    public async Task<string> SendAsync(params string[] args)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port);
        var stream = client.GetStream();
        var request = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var arg in args)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
        var buffer = new byte[64 * 1024];
        var reply = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        do
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            reply.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
        while (!IsComplete(reply.ToString()));

        return reply.ToString();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await KillAsync();

    private static bool IsComplete(string reply)
    {
        if (reply.Length == 0 || !reply.EndsWith("\r\n", StringComparison.Ordinal))
        {
            return false;
        }

        if (reply[0] != '$')
        {
            return true;
        }

        var header = reply.IndexOf("\r\n", StringComparison.Ordinal);
        var length = int.Parse(reply.AsSpan(1, header - 1));
        return length < 0 || Encoding.UTF8.GetByteCount(reply) >= header + 2 + length + 2;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            return (await SendAsync("PING")).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private void KillOnExit(object? sender, EventArgs e)
    {
        try
        {
            _process?.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
