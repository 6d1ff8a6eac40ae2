namespace PolicyLayer.Cli.Tests;

public class HelpTests
{
    [TestCase("validate")]
    [TestCase("explain")]
    [TestCase("test")]
    [TestCase("classify")]
    [TestCase("init")]
    public async Task Help_OfEachCommand_DescribesItsExitCodes(string command)
    {
        var result = await Policylayer.RunAsync(command, "--help");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("Exit codes").And.Contain("Usage:");
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
