namespace PolicyLayer.Cli.Tests;

[Category(Policylayer.ProcessLevel)]
public class ValidateCommandTests
{
    [Test]
    public async Task Validate_SamplePolicies_PrintsOkForEachAndExitsZero()
    {
        var result = await Policylayer.RunAsync("validate", Policylayer.Sample("kestra.policy.json"), Policylayer.Sample("shop.policy.json"));

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain(Policylayer.Sample("kestra.policy.json") + ": ok").And.Contain(Policylayer.Sample("shop.policy.json") + ": ok");
        result.Err.Should().BeEmpty();
    }

    [Test]
    public async Task Validate_InvalidPolicy_PrintsFileLineColumnPathAndMessage_PerError_AndExitsOne()
    {
        var file = Path.Combine(Path.GetTempPath(), $"invalid-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """
            {
              "version": "1",
              "default": "maybe",
              "tools": { "x": { "limits": [ { "counter": "c", "window": "minute", "max": 0 } ] } }
            }
            """);
        try
        {
            var result = await Policylayer.RunAsync("validate", file, Policylayer.Sample("kestra.policy.json"));

            result.ExitCode.Should().Be(1, result.ToString());
            var lines = result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            lines.Should().Contain(l => l.StartsWith(file + ":3:14: $.default: ", StringComparison.Ordinal), result.ToString());
            lines.Should().Contain(l => l.StartsWith(file + ":4:", StringComparison.Ordinal) && l.Contains("$.tools.x.limits[0].max: "), result.ToString());
            lines.Should().Contain(file + ": 2 errors");
            result.Out.Should().Contain("kestra.policy.json: ok", "the other files are still checked");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public async Task Validate_MissingFile_ExitsTwo()
    {
        var result = await Policylayer.RunAsync("validate", "no-such-policy.json");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Err.Should().Contain("no-such-policy.json: cannot read: file not found");
    }

    [Test]
    public async Task Validate_NoFile_IsAUsageError()
    {
        var result = await Policylayer.RunAsync("validate");

        result.ExitCode.Should().Be(2, result.ToString());
    }
}
