using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace PolicyLayer.TestUtils.Fakes;

/// <summary>Tells the options monitor that <see cref="PolicyLayerOptions"/> changed, when the test says so.</summary>
public sealed class ManualChangeTokenSource : IOptionsChangeTokenSource<PolicyLayerOptions>
{
    private CancellationTokenSource _cts = new();

    public string? Name => Options.DefaultName;

    public IChangeToken GetChangeToken() => new CancellationChangeToken(_cts.Token);

    /// <summary>Signals a change: the monitor re-reads the options and notifies its listeners.</summary>
    public void Change()
    {
        var previous = Interlocked.Exchange(ref _cts, new CancellationTokenSource());
        previous.Cancel();
        previous.Dispose();
    }
}
