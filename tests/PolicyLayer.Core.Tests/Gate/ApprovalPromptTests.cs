using System.Text.Json;
using PolicyLayer.Gate;

namespace PolicyLayer.Core.Tests.Gate;

/// <summary>The person approving sees every argument: nothing cut silently.</summary>
public sealed class ApprovalPromptTests
{
    [Test]
    public void LongValueBeforeAFlag_TheFlagIsStillShown_AndTheLongValueSaysItWasShortened()
    {
        var call = Call("""{"note":"{{PAD}}","options":{"padding":"{{PAD}}","force":true}}""".Replace("{{PAD}}", new string('x', 5000), StringComparison.Ordinal));

        var message = ApprovalPrompt.TryCreateMessage(call, "Deletes data.", out var problem);

        problem.Should().BeNull();
        message.Should().Contain("options.force = true")
            .And.Contain("(shortened: 5002 characters in all)")
            .And.Contain("note = \"xxxx")
            .And.Contain("options.padding = \"xxxx")
            .And.Contain("Why approval is needed: Deletes data.");
        message!.Length.Should().BeLessThan(2000);
    }

    [Test]
    public void EveryValueOfAnArray_IsShownByItsPath()
    {
        var message = ApprovalPrompt.TryCreateMessage(Call("""{"ids":[1,2,{"force":true}]}"""), "r", out _);

        message.Should().Contain("ids[0] = 1").And.Contain("ids[1] = 2").And.Contain("ids[2].force = true");
    }

    [Test]
    public void MoreValuesThanAPersonCanReview_IsNotPutToThemAtAll()
    {
        var values = string.Join(",", Enumerable.Range(0, ApprovalPrompt.MaxValues + 1).Select(i => $"\"a{i}\":{i}"));

        var message = ApprovalPrompt.TryCreateMessage(Call("{" + values + "}"), "r", out var problem);

        message.Should().BeNull();
        problem.Should().Contain("more than 100 argument values");
    }

    [TestCase("""{"action":"accept","content":{"approve":true}}""", true)]
    [TestCase("""{"action":"accept","content":{"approve":false}}""", false)]
    [TestCase("""{"action":"decline"}""", false)]
    [TestCase("""{"action":"cancel"}""", false)]
    [TestCase("""{"content":{"approve":true}}""", false)]
    public void IsApproved_OnlyAnAcceptWithApproveTrue(string answer, bool approved)
    {
        using var document = JsonDocument.Parse(answer);

        ApprovalPrompt.IsApproved(document.RootElement, out var kind, out var why).Should().Be(approved, why);
        kind.Should().Be(RefusalKind.ApprovalDeclined, "a refused answer is a declined approval, whatever its action");
    }

    private static ToolCall Call(string arguments) =>
        new("delete_flow", arguments: JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(arguments));
}
