using System.Text;

namespace PolicyLayer.Core.Tests.Classification;

/// <summary>
/// The honest estimate for a server nobody here has seen: the fresh held-out set
/// (Classification/FreshCorpus/), public servers new to the corpus, labelled from the guide before
/// the classifier ran on them and kept out of tuning. Set CLASSIFICATION_FRESH_REPORT to a file path
/// to write its tables for docs/classification-accuracy.md.
/// </summary>
public class FreshHeldOutTests
{
    private static CorpusScore Fresh() => new(ClassificationCorpus.FreshTools, ToolRiskClassifier.Default);

    [Test]
    public void FreshSet_HasAtLeast200ToolsFromAtLeast8ServersNoneInTheCorpusOrReserved()
    {
        IReadOnlyList<CorpusTool> fresh = ClassificationCorpus.FreshTools;
        fresh.Should().HaveCountGreaterThanOrEqualTo(200);
        fresh.Select(t => t.Server).Distinct().Should().HaveCountGreaterThanOrEqualTo(8);
        fresh.Select(t => t.Repository).Should().NotIntersectWith(ClassificationCorpus.Tools.Select(t => t.Repository),
            "a fresh server's source must not be in the tuning corpus");
        fresh.Select(t => t.Repository).Should().NotIntersectWith(CorpusAccuracyTests.ReservedRepositories,
            "the servers kept for independent evaluation stay out of every set");
        fresh.Should().OnlyContain(t => t.Commit.Length == 40 && t.Path.Length > 0 && !t.Alternatives.Contains(t.Label));
        fresh.GroupBy(t => (t.Server, t.Descriptor.Name)).Should().OnlyContain(g => g.Count() == 1, "a tool is labelled once per server");
    }

    /// <summary>The targets, held on servers the rules were never tuned on.</summary>
    [Test]
    public void Classify_FreshSet_AtLeast92PercentExactAnd97PercentWithDefensibleAlternatives()
    {
        CorpusScore fresh = Fresh();
        TestContext.Out.WriteLine(CorpusScore.SummaryHeader);
        TestContext.Out.WriteLine(fresh.Summary("fresh held-out servers"));

        fresh.Exact.Should().BeGreaterThanOrEqualTo(0.92);
        fresh.Acceptable.Should().BeGreaterThanOrEqualTo(0.97);
    }

    [Test]
    public void Classify_FreshSet_NeverCallsADestructiveExecuteOrFinancialToolRead()
    {
        Fresh().DangerousAsRead
            .Select(v => $"{v.Tool.Server}/{v.Tool.Descriptor.Name} ({v.Tool.Label}): {v.Profile.Evidence[0]}")
            .Should().BeEmpty();
    }

    [Test]
    public void Report_FreshSet_HasItsSummaryAndARowForEveryServer()
    {
        CorpusScore fresh = Fresh();
        var text = new StringBuilder();
        text.AppendLine("### Fresh held-out set: summary").AppendLine();
        text.AppendLine(CorpusScore.SummaryHeader);
        text.AppendLine(fresh.Summary("fresh held-out servers")).AppendLine();
        text.AppendLine("### Fresh held-out set: per category").AppendLine().AppendLine(fresh.CategoryTable());
        text.AppendLine("### Fresh held-out set: confusion").AppendLine().AppendLine(fresh.ConfusionTable());
        text.AppendLine("### Fresh held-out set: per server").AppendLine().AppendLine(fresh.ServerTable(_ => false));
        text.AppendLine("### Fresh held-out set: disagreements").AppendLine().AppendLine(fresh.Misses(onlyUnacceptable: false));
        string report = text.ToString();
        string? path = Environment.GetEnvironmentVariable("CLASSIFICATION_FRESH_REPORT");
        if (!string.IsNullOrEmpty(path))
        {
            File.WriteAllText(path, report);
        }

        TestContext.Out.WriteLine(fresh.Summary("fresh held-out servers"));
        foreach (string server in ClassificationCorpus.FreshTools.Select(t => t.Server).Distinct())
        {
            report.Should().Contain($"| {server} |");
        }
    }
}
