using Microsoft.Extensions.Options;
using ModelContextProtocol.AspNetCore;

namespace PolicyLayer.ModelContextProtocol.Tests.Hosts;

/// <summary>
/// A real ASP.NET Core host whose policy file is missing or invalid does not start: it stops with one message that names
/// PolicyLayer, the option and the file, and every validation error, not an exception from inside the service container.
/// </summary>
public sealed class StartupErrorTests
{
    private string _work = null!;

    [SetUp]
    public void CreateFolder() => _work = Directory.CreateTempSubdirectory("policylayer-startup-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_work, recursive: true);

    [Test]
    [CancelAfter(60_000)]
    public async Task MissingPolicyFile_StopsTheHostWithOneMessageNamingTheOptionAndThePath()
    {
        var path = Path.Combine(_work, "policy.json");

        var start = () => StartWithPolicyFileAsync(path);

        var thrown = (await start.Should().ThrowAsync<OptionsValidationException>()).Which;
        thrown.Message.Should().Be($"PolicyLayer cannot start: the policy file named by PolicyLayerMcpOptions.PolicyPath ({path}) does not exist.");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task InvalidPolicyFile_StopsTheHostWithEveryErrorAndWhereItIs()
    {
        var path = Path.Combine(_work, "policy.json");
        await File.WriteAllTextAsync(path, """
            {
              "version": "1",
              "default": "maybe",
              "tools": { "x": { "limits": [ { "counter": "c", "window": "minute", "max": 0 } ] } }
            }
            """);

        var start = () => StartWithPolicyFileAsync(path);

        var thrown = (await start.Should().ThrowAsync<OptionsValidationException>()).Which;
        var lines = thrown.Message.Split(Environment.NewLine);
        lines[0].Should().Be($"PolicyLayer cannot start: the policy file named by PolicyLayerMcpOptions.PolicyPath ({path}) does not load (2 errors):");
        lines.Skip(1).Should().HaveCount(2).And.OnlyContain(l => l.StartsWith("  " + path + ":", StringComparison.Ordinal));
        lines[1].Should().Contain(":3:").And.Contain("default");
        lines[2].Should().Contain(":4:").And.Contain("max");
        thrown.Message.Should().NotContain("   at ", "the message is the problem, not a stack trace");
    }

    private static async Task StartWithPolicyFileAsync(string path)
    {
        await using var host = await HttpMcpTestHost.StartAsync(HttpServerSessionMode.Stateful, """{ "version": "1" }""", o =>
        {
            o.Policy = null;
            o.PolicyPath = path;
        });
    }
}
