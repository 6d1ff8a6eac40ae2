namespace PolicyLayer.Cli.Tests;

public class HelpTests
{
    [Test]
    public void CliAssembly_IsNamedPolicylayer() =>
        typeof(PolicyLayer.Cli.Commands.ValidateCommand).Assembly.GetName().Name.Should().Be("policylayer");
}
