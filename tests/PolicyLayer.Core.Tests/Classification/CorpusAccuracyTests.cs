using System.Text;

namespace PolicyLayer.Core.Tests.Classification;

/// <summary>
/// Measures the classifier against real tools from public MCP servers, labelled by hand from the
/// five definitions (docs/classification-labelling.md) before looking at the classifier's verdicts.
/// Set CLASSIFICATION_REPORT to a file path to write the tables of docs/classification-accuracy.md.
/// </summary>
public class CorpusAccuracyTests
{
    /// <summary>Kept for independent evaluation: none of their tools may be in the corpus.</summary>
    internal static readonly string[] ReservedRepositories =
    [
        "getsentry/sentry-mcp", "sooperset/mcp-atlassian", "mongodb-js/mongodb-mcp-server", "microsoft/playwright-mcp",
        "hashicorp/terraform-mcp-server", "razorpay/razorpay-mcp-server", "XeroAPI/xero-mcp-server", "docker/hub-mcp",
        "makenotion/notion-mcp-server", "korotovsky/slack-mcp-server", "cloudflare/mcp-server-cloudflare",
        "grafana/mcp-grafana", "awslabs/mcp", "microsoft/mcp", "elastic/mcp-server-elasticsearch", "redis/mcp-redis",
        "googleapis/genai-toolbox", "twilio-labs/mcp", "Shopify/dev-mcp", "firebase/firebase-tools",
    ];

    private static CorpusScore Score(Func<CorpusTool, bool> which) =>
        new(ClassificationCorpus.Tools.Where(which), ToolRiskClassifier.Default);

    [Test]
    public void Corpus_HasAtLeast1000ToolsFromAtLeast40ServersWithEveryCategory()
    {
        var tools = ClassificationCorpus.Tools;
        tools.Should().HaveCountGreaterThanOrEqualTo(1000);
        tools.Select(t => t.Server).Distinct().Should().HaveCountGreaterThanOrEqualTo(40);
        tools.Select(t => t.Label).Distinct().Should().BeEquivalentTo(Enum.GetValues<RiskCategory>());
        tools.Where(t => t.Descriptor.Annotations is null).Select(t => t.Server).Distinct().Should().HaveCountGreaterThanOrEqualTo(10,
            "servers without annotations must be part of the corpus");
        tools.Should().OnlyContain(t => t.Repository.Contains('/') && t.Path.Length > 0 && t.Commit.Length == 40);
        tools.Should().OnlyContain(t => !t.Alternatives.Contains(t.Label), "an alternative differs from the label");
        tools.GroupBy(t => (t.Server, t.Descriptor.Name)).Should().OnlyContain(g => g.Count() == 1, "a tool is labelled once per server");
    }

    [Test]
    public void Corpus_HoldsNoToolOfTheServersReservedForIndependentEvaluation()
    {
        ClassificationCorpus.Tools.Should().NotContain(t => ReservedRepositories.Contains(t.Repository, StringComparer.OrdinalIgnoreCase));
        ClassificationCorpus.Tools.Select(t => t.Server).Distinct().Should().Contain(ClassificationCorpus.HeldOutServers);
    }

    [Test]
    public void Classify_EveryServer_AtLeast92PercentExactAnd97PercentWithDefensibleAlternatives()
    {
        CorpusScore all = Score(_ => true);
        CorpusScore tuning = Score(t => !ClassificationCorpus.HeldOutServers.Contains(t.Server));
        TestContext.Out.WriteLine(CorpusScore.SummaryHeader);
        TestContext.Out.WriteLine(all.Summary("all"));
        TestContext.Out.WriteLine(tuning.Summary("tuning servers"));
        TestContext.Out.WriteLine("Disagreements on the tuning servers:");
        TestContext.Out.WriteLine(tuning.Misses(onlyUnacceptable: false));

        all.Exact.Should().BeGreaterThanOrEqualTo(0.92);
        all.Acceptable.Should().BeGreaterThanOrEqualTo(0.97);
    }

    [Test]
    public void Classify_HeldOutServers_AtLeast90PercentExactAnd95PercentWithDefensibleAlternatives()
    {
        CorpusScore heldOut = Score(t => ClassificationCorpus.HeldOutServers.Contains(t.Server));
        TestContext.Out.WriteLine(CorpusScore.SummaryHeader);
        TestContext.Out.WriteLine(heldOut.Summary("held-out servers"));

        heldOut.Count.Should().BeGreaterThanOrEqualTo(150);
        heldOut.Exact.Should().BeGreaterThanOrEqualTo(0.90);
        heldOut.Acceptable.Should().BeGreaterThanOrEqualTo(0.95);
    }

    [Test]
    public void Classify_Corpus_NeverCallsADestructiveExecuteOrFinancialToolRead()
    {
        Score(_ => true).DangerousAsRead
            .Select(v => $"{v.Tool.Server}/{v.Tool.Descriptor.Name} ({v.Tool.Label}): {v.Profile.Evidence[0]}")
            .Should().BeEmpty();
    }

    [Test]
    public void Classify_Corpus_EveryVerdictHasEvidenceAndTheLevelOfItsCategoryOrHigher()
    {
        foreach (CorpusTool tool in ClassificationCorpus.Tools)
        {
            RiskProfile profile = ToolRiskClassifier.Default.Classify(tool.Descriptor);
            profile.Evidence.Should().NotBeEmpty(tool.Descriptor.Name);
            profile.Evidence.Should().OnlyContain(e => !string.IsNullOrWhiteSpace(e));
            ((int)profile.Level).Should().BeGreaterThanOrEqualTo((int)RiskProfile.DefaultLevel(profile.Category), tool.Descriptor.Name);
        }
    }

    [Test]
    public void Report_HasARowForEveryServerAndTheHeldOutSummary()
    {
        string report = BuildReport();
        string? path = Environment.GetEnvironmentVariable("CLASSIFICATION_REPORT");
        if (!string.IsNullOrEmpty(path))
        {
            File.WriteAllText(path, report);
        }

        foreach (string server in ClassificationCorpus.Tools.Select(t => t.Server).Distinct())
        {
            report.Should().Contain($"| {server}");
        }

        report.Should().Contain("| held-out servers |");
    }

    private static string BuildReport()
    {
        CorpusScore all = Score(_ => true);
        CorpusScore heldOut = Score(t => ClassificationCorpus.HeldOutServers.Contains(t.Server));
        CorpusScore tuning = Score(t => !ClassificationCorpus.HeldOutServers.Contains(t.Server));
        var text = new StringBuilder();
        text.AppendLine("### Summary").AppendLine();
        text.AppendLine(CorpusScore.SummaryHeader);
        text.AppendLine(heldOut.Summary("held-out servers"));
        text.AppendLine(tuning.Summary("tuning servers"));
        text.AppendLine(all.Summary("all")).AppendLine();
        text.AppendLine("### Per category, held-out servers").AppendLine().AppendLine(heldOut.CategoryTable());
        text.AppendLine("### Per category, all servers").AppendLine().AppendLine(all.CategoryTable());
        text.AppendLine("### Confusion, all servers").AppendLine().AppendLine(all.ConfusionTable());
        text.AppendLine("### Per server").AppendLine().AppendLine(all.ServerTable(ClassificationCorpus.HeldOutServers.Contains));
        text.AppendLine("### Disagreements on the held-out servers").AppendLine().AppendLine(heldOut.Misses(onlyUnacceptable: false));
        text.AppendLine("### Disagreements on the tuning servers").AppendLine().AppendLine(tuning.Misses(onlyUnacceptable: false));
        return text.ToString();
    }
}
