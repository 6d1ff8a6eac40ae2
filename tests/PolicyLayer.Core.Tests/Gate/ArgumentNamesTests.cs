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

    // Up to eight names are compared pairwise, more through a hash set: both ways find the same repeated name.
    [TestCase(2, 0)]
    [TestCase(8, 0)]
    [TestCase(8, 6)]
    [TestCase(9, 0)]
    [TestCase(9, 7)]
    [TestCase(40, 20)]
    public void Dictionary_OfAnySize_NamesTheSecondSpellingOfARepeatedName(int count, int repeated)
    {
        var arguments = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        for (var i = 0; i < count - 1; i++)
        {
            arguments[$"name{i}"] = JsonSerializer.SerializeToElement(i);
        }

        arguments[$"NAME{repeated}"] = JsonSerializer.SerializeToElement(-1);

        ArgumentNames.FindAmbiguity(arguments).Should().Contain($"\"NAME{repeated}\"");
    }

    [TestCase(8)]
    [TestCase(9)]
    public void Dictionary_OfAnySize_WithDistinctNames_IsNotAmbiguous(int count)
    {
        var arguments = Enumerable.Range(0, count).ToDictionary(i => $"name{i}", i => JsonSerializer.SerializeToElement(i), StringComparer.Ordinal);

        ArgumentNames.FindAmbiguity(arguments).Should().BeNull();
    }

    [Test]
    public void ReadOnlyDictionaryOfAnotherKind_IsCheckedToo()
    {
        var arguments = new SortedList<string, JsonElement>(StringComparer.Ordinal)
        {
            ["amount"] = JsonSerializer.SerializeToElement(1),
            ["AMOUNT"] = JsonSerializer.SerializeToElement(1000),
        };

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
