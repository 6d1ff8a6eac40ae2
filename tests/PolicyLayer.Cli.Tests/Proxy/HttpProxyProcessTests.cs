using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PolicyLayer.Cli.Tests.Proxy;

/// <summary><c>policylayer grants add</c> and <c>policylayer proxy --listen --grants</c>, as processes.</summary>
[NonParallelizable]
[Category(Policylayer.ProcessLevel)]
public sealed partial class HttpProxyProcessTests
{
    private string _work = null!;

    [SetUp]
    public void CreateWorkspace() => _work = Directory.CreateTempSubdirectory("policylayer-http-proxy-").FullName;

    [TearDown]
    public void DeleteWorkspace() => Directory.Delete(_work, recursive: true);

    [Test]
    public async Task GrantsAdd_PrintsATokenOnce_AndStoresOnlyItsHash()
    {
        var grants = Path.Combine(_work, "grants.json");

        var first = await Policylayer.RunAsync("grants", "add", "--file", grants, "--grant", "team-a");
        var second = await Policylayer.RunAsync("grants", "add", "--file", grants, "--grant", "team-b", "--policy", "b.json");
        var file = await File.ReadAllTextAsync(grants);

        first.ExitCode.Should().Be(0);
        var token = first.Out.Trim();
        token.Should().StartWith("pl_").And.HaveLength(46);
        second.Out.Trim().Should().NotBe(token);
        file.Should().NotContain(token);
        var entries = JsonDocument.Parse(file).RootElement.GetProperty("grants");
        entries.GetArrayLength().Should().Be(2);
        entries[0].GetProperty("token_sha256").GetString().Should().Be(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(token))));
        entries[1].GetProperty("policy").GetString().Should().Be("b.json");
    }

    [Test]
    public async Task Listen_WithGrants_RefusesNoTokenWith401_AndServesATokenFromGrantsAdd()
    {
        var grants = Path.Combine(_work, "grants.json");
        var policy = Path.Combine(_work, "policy.json");
        await File.WriteAllTextAsync(policy, """{ "version": "1", "default": "allow" }""");
        var token = (await Policylayer.RunAsync("grants", "add", "--file", grants, "--grant", "team-a")).Out.Trim();
        var info = new ProcessStartInfo(Policylayer.Program) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])[.. Policylayer.ProgramArguments, "proxy", "--listen", "http://127.0.0.1:0/mcp", "--policy", policy, "--grants", grants, "--", "dotnet", Path.Combine(AppContext.BaseDirectory, "PolicyLayer.ContractServer.dll")])
        {
            info.ArgumentList.Add(argument);
        }

        using var proxy = Process.Start(info)!;
        try
        {
            var endpoint = await ReadEndpointAsync(proxy);
            using var http = new HttpClient();
            const string Initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

            using var anonymous = await http.PostAsync(endpoint, new StringContent(Initialize, Encoding.UTF8, "application/json"));
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new StringContent(Initialize, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.Accept.ParseAdd("application/json, text/event-stream");
            using var granted = await http.SendAsync(request);

            anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
            anonymous.Headers.WwwAuthenticate.ToString().Should().Contain("resource_metadata=");
            granted.StatusCode.Should().Be(HttpStatusCode.OK);
            granted.Headers.GetValues("Mcp-Session-Id").Single().Should().NotBeEmpty();
            (await granted.Content.ReadAsStringAsync()).Should().Contain("\"serverInfo\"");
        }
        finally
        {
            proxy.Kill(entireProcessTree: true);
            await proxy.WaitForExitAsync();
        }
    }

    [TestCase("--upstream", "http://127.0.0.1:1/mcp", "--", "cat", TestName = "UpstreamAndACommand_IsAUsageError")]
    [TestCase("--listen", "https://127.0.0.1:0/mcp", "--", "cat", TestName = "ListenOnHttps_IsAUsageError")]
    [TestCase("--grants", "g.json", "--", "cat", TestName = "GrantsWithoutListen_IsAUsageError")]
    [TestCase("--listen", "http://127.0.0.1:0/mcp", "--jwt-signing-key", "0123456789abcdef0123456789abcdef", "--", "cat", TestName = "JwtWithoutAudience_IsAUsageError")]
    public async Task BadHttpOptions_AreAUsageErrorThatSaysWhy(params string[] options)
    {
        var policy = Path.Combine(_work, "policy.json");
        await File.WriteAllTextAsync(policy, """{ "version": "1" }""");

        var result = await Policylayer.RunAsync(["proxy", "--policy", policy, .. options]);

        result.ExitCode.Should().Be(2);
        result.Err.Should().StartWith("policylayer proxy: ");
    }

    [Test]
    public async Task StdioProxy_WithASigningKeyExportedForAGateway_RunsItsServer()
    {
        // The README exports POLICYLAYER_JWT_SIGNING_KEY for `--listen`; a stdio proxy started from the same shell
        // authenticates nobody with it and must run as without it (it was refused: "--jwt-* need --listen").
        var policy = Path.Combine(_work, "policy.json");
        await File.WriteAllTextAsync(policy, """{ "version": "1" }""");
        var start = Policylayer.StartInfo("proxy", "--policy", policy, "--", "/bin/sh", "-c", "exit 3");
        start.Environment["POLICYLAYER_JWT_SIGNING_KEY"] = "0123456789abcdef0123456789abcdef";

        var result = await Policylayer.RunAsync(start);

        result.ExitCode.Should().Be(3, "the proxy ends with its server's exit code: " + result);
    }

    [Test]
    public async Task HttpOptions_AreHandledByTheBuildWithTheWebHost_AndTheNativeBinaryWithoutItsSiblingSaysWhereItIs()
    {
        var policy = Path.Combine(_work, "policy.json");
        await File.WriteAllTextAsync(policy, """{ "version": "1" }""");
        string[] listen = ["proxy", "--policy", policy, "--listen", "ftp://127.0.0.1:0/mcp", "--", "cat"];

        // The .NET tool handles it itself; the native policylayer hands it to policylayer-http beside it: same answer.
        var handed = await Policylayer.RunAsync(listen);
        handed.ExitCode.Should().Be(2, handed.ToString());
        handed.Err.Should().StartWith("policylayer proxy: --listen must be an http URL");

        if (Policylayer.Executable is { } exe && File.Exists(Path.Combine(Path.GetDirectoryName(exe)!, "policylayer-http")))
        {
            // The native binary on its own: stdio commands work, and an HTTP option says which file is missing.
            var alone = Path.Combine(_work, "alone");
            Directory.CreateDirectory(alone);
            var copy = Path.Combine(alone, "policylayer");
            File.Copy(exe, copy); // keeps the file's mode, executable

            var validate = await RunAsync(copy, "validate", policy);
            validate.ExitCode.Should().Be(0, validate.ToString());
            var missing = await RunAsync(copy, listen);
            missing.ExitCode.Should().Be(127, missing.ToString());
            missing.Err.Should().Contain(Path.Combine(alone, "policylayer-http")).And.Contain("keep it beside policylayer");
        }
    }

    private static Task<Policylayer.Result> RunAsync(string executable, params string[] args)
    {
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Policylayer.RunAsync(start);
    }

    [GeneratedRegex(@"listening on (http://\S+)")]
    private static partial Regex Listening();

    private static async Task<Uri> ReadEndpointAsync(Process proxy)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await proxy.StandardError.ReadLineAsync(timeout.Token) is { } line)
        {
            if (Listening().Match(line) is { Success: true } match)
            {
                return new Uri(match.Groups[1].Value);
            }
        }

        throw new InvalidOperationException("policylayer proxy ended before it listened.");
    }
}
