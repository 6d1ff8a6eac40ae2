using PolicyLayer.Testing;

namespace PolicyLayer.Samples.PolicyTests;

/// <summary>The rules of samples/policies/shop.policy.json: refunds, reads, deletes and workflows.</summary>
public class ShopPolicyTests
{
    private PolicyTestHarness _harness = null!;
    private PolicyTestCaller _bot = null!;

    [SetUp]
    public void LoadPolicy()
    {
        _harness = PolicyTestHarness.Load(Path.Combine(AppContext.BaseDirectory, "policies", "shop.policy.json"));
        _bot = _harness.AsGrant("support-bot").WithSession("s1");
    }

    [TearDown]
    public void Dispose() => _harness.Dispose();

    [Test]
    public async Task CreateRefund_Small_IsAllowedAndCountsItsAmount()
    {
        (await _bot.CallAsync("create_refund", new { amount = 1200, reason = "damaged" })).Should().BeAllowed()
            .And.HaveRiskCategory(RiskCategory.Financial)
            .And.HaveRemaining("refund_total", 48_800);
    }

    [Test]
    public async Task CreateRefund_Over50_NeedsApproval_AndAnApprovedOneGoesThrough()
    {
        (await _bot.CallAsync("create_refund", new { amount = 6000, reason = "late" })).Should().RequireApproval()
            .By("/tools/create_refund/require_approval_if/0");
        (await _bot.CallApprovedAsync("create_refund", new { amount = 6000, reason = "late" })).Should().BeAllowed();
    }

    [Test]
    public async Task CreateRefund_Over100_IsRefusedWithTheRulesReason()
    {
        (await _bot.CallAsync("create_refund", new { amount = 20_000, reason = "goodwill" })).Should().BeDenied()
            .WithReasonContaining("Refunds over 100.00 are done by people.")
            .And.BeDecidedBy("/tools/create_refund/deny_if/0");
    }

    [Test]
    public async Task CreateRefund_WithoutAReason_IsRefused()
    {
        (await _bot.CallAsync("create_refund", new { amount = 10 })).Should().BeDenied().By("/tools/create_refund/require/0");
    }

    [Test]
    public async Task CreateRefund_SpendCap_500ADayPerGrant_FreesUpAsTheDaySlides()
    {
        (await _bot.CallAsync("create_refund", times: 10, new { amount = 5000, reason = "r" }, interval: TimeSpan.FromHours(1))).Should().AllBeAllowed();
        (await _bot.CallAsync("create_refund", new { amount = 1, reason = "r" })).Should().BeRateLimited()
            .WithRetryAfter(TimeSpan.FromHours(15), because: "the first refund, 9 hours ago, leaves the 24-hour window in 15 hours");

        _harness.Advance(TimeSpan.FromHours(15));
        (await _bot.CallAsync("create_refund", new { amount = 5000, reason = "r" })).Should().BeAllowed();
    }

    [Test]
    public async Task GetTools_TenAMinutePerSession()
    {
        (await _bot.CallAsync("get_flow", times: 11)).Should().AllowFirst(10);
        (await _bot.WithSession("s2").CallAsync("get_flow")).Should().BeAllowed();
    }

    [Test]
    public async Task Deletes_AreRefused_AndHiddenToolsToo()
    {
        (await _bot.CallAsync("delete_flow", new { id = "x" })).Should().BeDenied().WithReasonContaining("Deleting is done by people");
        (await _bot.CallAsync("delete_account")).Should().BeDenied().By(RuleIds.Hidden);
        _harness.IsListed("delete_account").Should().BeFalse();
    }

    [Test]
    public async Task UnnamedDestructiveTool_FallsToTheRiskRule()
    {
        var purge = new ToolDescriptor("purge_cache", "Permanently purge the cache.", new ToolAnnotations { DestructiveHint = true });

        (await _bot.CallAsync(purge)).Should().RequireApproval().By("/risk/destructive").And.HaveRiskCategory(RiskCategory.Destructive);
    }
}
