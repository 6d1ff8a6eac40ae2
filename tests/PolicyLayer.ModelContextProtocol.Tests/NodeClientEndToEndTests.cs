using PolicyLayer.TestUtils;

namespace PolicyLayer.ModelContextProtocol.Tests;

/// <summary>
/// The sample server over real stdio, driven by a client nobody here wrote: the official TypeScript SDK
/// (tests/e2e-client). Under CI=true a missing node or node_modules fails the test; locally it is ignored.
/// </summary>
public sealed class NodeClientEndToEndTests
{
    [Test]
    [CancelAfter(120_000)]
    public async Task TypeScriptSdkClient_OverStdio_GetsThirtyLabelsThenPolicyDenied(CancellationToken cancellationToken)
    {
        var server = RepositoryPaths.SampleProgram("KestraServer");
        var policy = RepositoryPaths.SamplePolicy("kestra.policy.json");
        using var summary = await NodeClient.RunAsync("client.mjs", ["dotnet", server, "--policy", policy], cancellationToken);

        var root = summary.RootElement;
        root.GetProperty("tools").EnumerateArray().Select(t => t.GetString()).Should().BeEquivalentTo(["add_execution_labels"]);
        var labels = root.GetProperty("labels").EnumerateArray().ToList();
        labels.Take(30).Should().OnlyContain(l => !l.GetProperty("isError").GetBoolean());
        labels[30].GetProperty("isError").GetBoolean().Should().BeTrue();
        labels[30].GetProperty("text").GetString().Should().StartWith("[POLICY DENIED]").And.Contain("Retry after");
        root.GetProperty("deleteFlow").GetProperty("text").GetString().Should().StartWith("[POLICY DENIED]");
        root.GetProperty("unknownError").GetString().Should().NotBeNull().And.NotContain("POLICY DENIED");
    }
}
