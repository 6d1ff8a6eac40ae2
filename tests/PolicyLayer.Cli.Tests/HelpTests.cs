namespace PolicyLayer.Cli.Tests;

[Category(Policylayer.ProcessLevel)]
public class HelpTests
{
    [TestCase("validate")]
    [TestCase("explain")]
    [TestCase("test")]
    [TestCase("classify")]
    [TestCase("init")]
    [TestCase("schema")]
    [TestCase("proxy")]
    public async Task Help_OfEachCommand_DescribesItsExitCodes(string command)
    {
        var result = await Policylayer.RunAsync(command, "--help");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("Exit codes").And.Contain("Usage:");
    }

    [Test]
    public async Task Help_OfProxy_ListsItsOptionsWithTheirDefaults()
    {
        var result = await Policylayer.RunAsync("proxy", "--help");

        result.Out.Should().Contain("--watch ").And.Contain("--shadow").And.Contain("--audit-log")
            .And.MatchRegex(@"--watch-interval[^\n]*\n?[^-]*\[default: 1\]")
            .And.MatchRegex(@"--tool-list-timeout[^\n]*\n?[^-]*\[default: 10\]")
            .And.MatchRegex(@"--approval-timeout[^\n]*\n?[^-]*\[default: 120\]");
    }

    [Test]
    public async Task UnknownOption_IsAUsageError_WithExitCodeTwo()
    {
        var result = await Policylayer.RunAsync("explain", "x.json", "--tool", "t", "--no-such-option");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Err.Should().Contain("--no-such-option").And.Contain("policylayer explain --help");
        result.Out.Should().BeEmpty();
    }
}
