namespace PolicyLayer.Core.Tests.Classification;

/// <summary>
/// destructiveHint means "may perform non-additive updates" in MCP, and some SDKs fill it in for
/// every tool: it is weighed with the name, description and schema, never taken alone. readOnlyHint
/// never makes a tool that deletes Read.
/// </summary>
public class HintWeighingTests
{
    private static readonly ToolAnnotations Destructive = new() { ReadOnlyHint = false, DestructiveHint = true };

    /// <summary>What mcp-go's NewTool fills in when the author sets nothing.</summary>
    private static readonly ToolAnnotations McpGoDefaults = new() { ReadOnlyHint = false, DestructiveHint = true, IdempotentHint = false, OpenWorldHint = true };

    private static RiskProfile Classify(string name, string? description, ToolAnnotations? annotations) =>
        ToolRiskClassifier.Default.Classify(new ToolDescriptor(name, description, annotations));

    [TestCase("update_issue", "Update an existing issue's title, body or state.")]
    [TestCase("edit_file", "Make line-based edits to a text file.")]
    [TestCase("move_file", "Move or rename files and directories.")]
    [TestCase("kubectl_patch", "Update field(s) of a resource using strategic merge patch.")]
    public void Classify_DestructiveHintOnAnOrdinaryUpdate_IsWriteRaisedToHighAndSaysWhy(string name, string description)
    {
        RiskProfile risk = Classify(name, description, Destructive);

        risk.Category.Should().Be(RiskCategory.Write);
        risk.Level.Should().Be(RiskLevel.High);
        risk.Evidence.Should().Contain(e => e.Contains("destructiveHint=true means, in MCP, that the tool may overwrite data"));
    }

    [Test]
    public void Classify_DestructiveHintWithADeletingVerb_IsDestructive()
    {
        RiskProfile risk = Classify("delete_issue", "Delete an issue.", Destructive);

        risk.Category.Should().Be(RiskCategory.Destructive);
        risk.Level.Should().Be(RiskLevel.Critical);
    }

    [Test]
    public void Classify_DestructiveHintWithAPhraseOfLoss_IsDestructive()
    {
        RiskProfile risk = Classify("write_file", "Create a new file or completely overwrite an existing file with new content.", Destructive);

        risk.Category.Should().Be(RiskCategory.Destructive);
    }

    [Test]
    public void Classify_DestructiveHintAndNothingElse_TheServersClaimDecides()
    {
        RiskProfile risk = Classify("graph_snapshot", null, Destructive);

        risk.Category.Should().Be(RiskCategory.Destructive);
        risk.Evidence[0].Should().Contain("the server's claim decides");
    }

    [Test]
    public void Classify_McpGoDefaultHintsOnAGet_IsReadAndSaysTheHintsAreALibrarysDefault()
    {
        RiskProfile risk = Classify("digitalocean-droplet-get-kernels", "Get available kernels for a droplet", McpGoDefaults);

        risk.Category.Should().Be(RiskCategory.Read);
        risk.Evidence.Should().Contain(e => e.Contains("mcp-go fills in by default"));
    }

    [Test]
    public void Classify_McpGoDefaultHintsOnACreate_IsWriteAtMedium()
    {
        RiskProfile risk = Classify("digitalocean-vpc-create", "Create a new VPC", McpGoDefaults);

        risk.Category.Should().Be(RiskCategory.Write);
        risk.Level.Should().Be(RiskLevel.Medium);
    }

    [Test]
    public void Classify_McpGoDefaultHintsAndNoOtherSignal_IsWriteNotDestructive()
    {
        Classify("graph_snapshot", null, McpGoDefaults).Category.Should().Be(RiskCategory.Write);
    }

    [Test]
    public void Classify_ExplicitDestructiveHintOnAGet_IsAtLeastWrite()
    {
        // Not the SDK's defaults: the author claims a change, though the verb reads.
        RiskProfile risk = Classify("download_usage_data", "Downloads usage data to a directory.", Destructive);

        risk.Category.Should().Be(RiskCategory.Write);
    }

    [Test]
    public void Classify_DestructiveHintOnAToolThatRunsCode_StaysExecuteAtCritical()
    {
        RiskProfile risk = Classify("run_query", "Run a query against the warehouse.", Destructive);

        risk.Category.Should().Be(RiskCategory.Execute);
        risk.Level.Should().Be(RiskLevel.Critical);
    }

    [TestCase("delete_branch")]
    [TestCase("fetch_and_delete_messages")]
    [TestCase("purge_queue")]
    public void Classify_ReadOnlyHintOnAToolThatDeletes_IsNeverRead(string name)
    {
        RiskProfile risk = Classify(name, null, new ToolAnnotations { ReadOnlyHint = true });

        risk.Category.Should().Be(RiskCategory.Destructive);
        risk.Evidence.Should().Contain(e => e.StartsWith("readOnlyHint=true claims Read, but", StringComparison.Ordinal));
    }

    [Test]
    public void Classify_ReadOnlyHintFalseOnAGet_TheVerbDecides()
    {
        // Chrome DevTools marks get_network_request readOnlyHint=false: a claim that it may change
        // things, which its verb does not bear out.
        RiskProfile risk = Classify("get_network_request", "Gets a network request by an optional reqid.", new ToolAnnotations { ReadOnlyHint = false });

        risk.Category.Should().Be(RiskCategory.Read);
        risk.Evidence.Should().Contain(e => e.Contains("which the verbs, phrases and schema decide"));
    }
}
