using System.Text.Json;
using PolicyLayer.Gate;

namespace PolicyLayer.Core.Tests.Gate;

public sealed class ArgumentNamesTests
{
    [TestCase("""{"amount":1,"Amount":1000}""")]
    [TestCase("""{"amount":1,"amount":1000}""")]
    [TestCase("""{"refund":{"amount":1,"AMOUNT":1000}}""")]
    [TestCase("""{"items":[{"a":1},{"x":{"y":[{"k":1,"K":2}]}}]}""")]
    public void RawArguments_NameRepeatedOrInTwoCasesAtAnyDepth_IsAmbiguous(string arguments)
    {
        using var document = JsonDocument.Parse(arguments);

        ArgumentNames.FindAmbiguity(document.RootElement).Should().NotBeNull().And.Contain("ambiguous");
    }

    [TestCase("""{"amount":1,"amounts":2,"nested":{"amount":3}}""")]
    [TestCase("""{"list":[{"a":1},{"a":2}]}""")]
    [TestCase("""{}""")]
    public void RawArguments_EachNameOncePerObject_AreNotAmbiguous(string arguments)
    {
        using var document = JsonDocument.Parse(arguments);

        ArgumentNames.FindAmbiguity(document.RootElement).Should().BeNull();
    }

    [Test]
    public void Dictionary_TopLevelKeysDifferingOnlyInCase_AreAmbiguous()
    {
        var arguments = new Dictionary<string, JsonElement>(StringComparer.Ordinal)
        {
            ["amount"] = JsonSerializer.SerializeToElement(1),
            ["Amount"] = JsonSerializer.SerializeToElement(1000),
        };

        ArgumentNames.FindAmbiguity(arguments).Should().Contain("\"Amount\"");
    }

    [Test]
    public void Dictionary_NestedObjectWithADuplicate_IsAmbiguous()
    {
        using var nested = JsonDocument.Parse("""{"amount":1,"amount":1000}""");
        var arguments = new Dictionary<string, JsonElement> { ["refund"] = nested.RootElement };

        ArgumentNames.FindAmbiguity(arguments).Should().NotBeNull();
    }

    [Test]
    public void LongName_IsShortenedInTheMessage()
    {
        var name = new string('a', 100_000);
        using var document = JsonDocument.Parse($$"""{"{{name}}":1,"{{name.ToUpperInvariant()}}":2}""");

        ArgumentNames.FindAmbiguity(document.RootElement)!.Length.Should().BeLessThan(400);
    }
}
