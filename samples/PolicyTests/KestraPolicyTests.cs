using PolicyLayer.Testing;

namespace PolicyLayer.Samples.PolicyTests;

/// <summary>The rules of samples/policies/kestra.policy.json, one test per rule.</summary>
public class KestraPolicyTests
{
    private PolicyTestHarness _harness = null!;

    [SetUp]
    public void LoadPolicy() => _harness = PolicyTestHarness.Load(Path.Combine(AppContext.BaseDirectory, "policies", "kestra.policy.json"));

    [TearDown]
    public void Dispose() => _harness.Dispose();

    [Test]
    public async Task AddExecutionLabels_ThirtyAMinutePerGrant_TheThirtyFirstWaitsForTheWindow()
    {
        var grant = _harness.AsGrant("grant-1");

        (await grant.CallAsync("add_execution_labels", times: 30, new { executionId = "e1", labels = new { env = "prod" } })).Should().AllBeAllowed();
        (await grant.CallAsync("add_execution_labels")).Should().BeRateLimited()
            .WithRetryAfter(TimeSpan.FromSeconds(60))
            .And.BeDecidedBy("/tools/add_execution_labels/limits/0");

        _harness.Advance(TimeSpan.FromMinutes(1));
        (await grant.CallAsync("add_execution_labels")).Should().BeAllowed();
    }

    [Test]
    public async Task AddExecutionLabels_TheWindowSlides_ItIsNotACalendarMinute()
    {
        var grant = _harness.AsGrant("grant-1");

        // 15 calls at 09:00:50 and 15 at 09:01:10: a fixed-window counter would let 30 more through at 09:01:10.
        _harness.Advance(TimeSpan.FromSeconds(50));
        (await grant.CallAsync("add_execution_labels", times: 15)).Should().AllBeAllowed();
        _harness.Advance(TimeSpan.FromSeconds(20));
        (await grant.CallAsync("add_execution_labels", times: 16)).Should().AllowFirst(15);
    }

    [Test]
    public async Task AddExecutionLabels_EachGrantHasItsOwnBudget()
    {
        (await _harness.AsGrant("team-a").CallAsync("add_execution_labels", times: 30)).Should().AllBeAllowed();

        (await _harness.AsGrant("team-b").CallAsync("add_execution_labels")).Should().BeAllowed();
    }

    [Test]
    public async Task AddExecutionLabels_WithoutAGrant_IsRefusedRatherThanSharingABucket()
    {
        (await _harness.AsSession("s1").WithGrant(null).CallAsync("add_execution_labels")).Should().BeDenied()
            .WithReasonContaining("no grant id");
    }

    [TestCase("delete_flow")]
    [TestCase("execute_flow")]
    [TestCase("create_flow")]
    public async Task EveryOtherTool_IsRefusedByTheDefault(string tool)
    {
        (await _harness.AsGrant("grant-1").CallAsync(tool)).Should().BeDenied().By("(default)");
        _harness.IsListed(tool).Should().BeFalse("tools the policy denies are hidden from tools/list");
    }

    [Test]
    public void DeleteFlow_IsClassifiedDestructive()
    {
        _harness.Classify(new ToolDescriptor("delete_flow", "Delete a flow and its execution history.", new ToolAnnotations { DestructiveHint = true }))
            .Should().BeCategory(RiskCategory.Destructive).And.HaveLevel(RiskLevel.Critical);
    }
}
