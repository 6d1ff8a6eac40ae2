using PolicyLayer.TestUtils.Gateway;
using static PolicyLayer.TestUtils.Gateway.GatewayHarness;

namespace PolicyLayer.Gateway.Tests;

/// <summary>How long the gateway waits for the server's tool list before the first call (<c>--tool-list-timeout</c>).</summary>
public class ToolListTimeoutTests
{
    [Test]
    public async Task ServerNeverAnswersToolsList_CallIsRefusedWhenTheTimeoutHasPassedAndNotBefore()
    {
        using var proxy = new GatewayHarness(configure: o => o.ToolListTimeout = TimeSpan.FromSeconds(3));
        proxy.Child.AnswersToolsList = false;
        await proxy.InitializeAsync();
        var timers = proxy.Time.TimersCreated;

        proxy.Send(Call("1", "echo"));
        await proxy.Time.WaitForTimerAsync(timers);
        proxy.Time.Advance(TimeSpan.FromSeconds(3) - TimeSpan.FromMilliseconds(1));
        var answer = proxy.ReceiveAsync();
        await Task.Delay(100);
        answer.IsCompleted.Should().BeFalse("3 s have not passed yet");
        proxy.Time.Advance(TimeSpan.FromMilliseconds(1));

        (await answer).DeniedText().Should().Contain("could not be evaluated");
        proxy.Diagnostics.ToString().Should().Contain("did not answer the proxy's tools/list within 3 s");
        proxy.Child.CalledTools.Should().BeEmpty();
    }
}
