using System.Text.Json;

namespace PolicyLayer.Core.Tests.Classification;

public class ToolRiskClassifierTests
{
    private static RiskProfile Classify(string name, string? description = null, ToolAnnotations? annotations = null, string? schema = null) =>
        ToolRiskClassifier.Default.Classify(new ToolDescriptor(name, description, annotations,
            schema is null ? null : JsonDocument.Parse(schema).RootElement.Clone()));

    private static string Properties(params string[] names) =>
        "{\"type\":\"object\",\"properties\":{" + string.Join(",", names.Select(n => $"\"{n}\":{{\"type\":\"string\"}}")) + "}}";

    // --- The hosted gateway's own verdict -------------------------------------------------

    [Test]
    public void Classify_KestraAddExecutionLabels_IsWriteMedium()
    {
        // The real tool (kestra-io/mcp-server-python, src/tools/execution.py): no annotations.
        RiskProfile risk = Classify(
            "add_execution_labels",
            "Add or update labels of a terminated execution. The execution must be in one of the terminal states:\n" +
            "SUCCESS, WARNING, FAILED, KILLED, CANCELLED, or SKIPPED. Raises a ValueError otherwise.",
            schema: Properties("execution_id", "labels"));

        risk.Category.Should().Be(RiskCategory.Write);
        risk.Level.Should().Be(RiskLevel.Medium);
        risk.Evidence[0].Should().Contain("'add'");
    }

    [Test]
    public void Classify_KestraAddExecutionLabelsFromTheCorpus_IsWriteMedium()
    {
        CorpusTool tool = ClassificationCorpus.Tools.Single(t => t.Server == "kestra" && t.Descriptor.Name == "add_execution_labels");

        RiskProfile risk = ToolRiskClassifier.Default.Classify(tool.Descriptor);

        risk.Category.Should().Be(RiskCategory.Write);
        risk.Level.Should().Be(RiskLevel.Medium);
    }

    // --- Annotations ------------------------------------------------------------------------

    [Test]
    public void Classify_ReadOnlyHintTrueAndNoOtherSignal_IsReadLow()
    {
        RiskProfile risk = Classify("graph_snapshot", annotations: new ToolAnnotations { ReadOnlyHint = true });

        risk.Category.Should().Be(RiskCategory.Read);
        risk.Level.Should().Be(RiskLevel.Low);
        risk.Evidence[0].Should().Be("readOnlyHint=true claims Read");
    }

    [Test]
    public void Classify_DestructiveHintTrue_IsDestructiveCritical()
    {
        RiskProfile risk = Classify("graph_snapshot", annotations: new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = true });

        risk.Category.Should().Be(RiskCategory.Destructive);
        risk.Level.Should().Be(RiskLevel.Critical);
        risk.Evidence[0].Should().StartWith("destructiveHint=true");
    }

    [Test]
    public void Classify_DestructiveHintFalse_IsWrite()
    {
        RiskProfile risk = Classify("graph_snapshot", annotations: new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = false });

        risk.Category.Should().Be(RiskCategory.Write);
        risk.Evidence[0].Should().Contain("readOnlyHint=false and destructiveHint=false");
    }

    [Test]
    public void Classify_ReadOnlyHintClaimsReadButNameVerbDeletes_RiskierReadingWinsAndEvidenceSaysSo()
    {
        RiskProfile risk = Classify("delete_flow", annotations: new ToolAnnotations { ReadOnlyHint = true });

        risk.Category.Should().Be(RiskCategory.Destructive);
        risk.Level.Should().Be(RiskLevel.Critical);
        risk.Evidence[0].Should().Be("the name verb 'delete' says Destructive");
        risk.Evidence.Should().Contain("readOnlyHint=true claims Read, but the name verb 'delete' says Destructive; the riskier reading wins");
    }

    [Test]
    public void Classify_ReadOnlyHintTrueWithDestructiveHintTrue_IgnoresTheDestructiveHintAsMcpSays()
    {
        RiskProfile risk = Classify("graph_snapshot", annotations: new ToolAnnotations { ReadOnlyHint = true, DestructiveHint = true });

        risk.Category.Should().Be(RiskCategory.Read);
    }

    [Test]
    public void Classify_NoAnnotationsAndNoOtherSignal_IsNotDestructiveByMcpDefault()
    {
        RiskProfile risk = Classify("graph_snapshot");

        risk.Category.Should().Be(RiskCategory.Write);
        risk.Level.Should().Be(RiskLevel.Medium);
        risk.Evidence.Should().ContainSingle().Which.Should().Contain("unknown tool is treated as Write");
    }

    [Test]
    public void Classify_NoAnnotationsAndAReadVerb_IsRead()
    {
        Classify("list_flows").Category.Should().Be(RiskCategory.Read);
    }

    [Test]
    public void Classify_AnnotationsWithoutHintsAndNoOtherSignal_IsWriteNotDestructive()
    {
        // MCP's default destructiveHint (true) fills a hint the server did not set: no claim of loss.
        RiskProfile risk = Classify("graph_snapshot", annotations: new ToolAnnotations { Title = "Snapshot" });

        risk.Category.Should().Be(RiskCategory.Write);
        risk.Evidence[0].Should().Contain("destructiveHint absent and no verb, phrase or schema");
    }

    [Test]
    public void Classify_DefaultedDestructiveHintAndACreateVerb_GivesWayToTheVerbAndSaysSo()
    {
        // github-mcp-server's create_branch: readOnlyHint=false, destructiveHint absent.
        RiskProfile risk = Classify("create_branch", annotations: new ToolAnnotations { ReadOnlyHint = false, IdempotentHint = false });

        risk.Category.Should().Be(RiskCategory.Write);
        risk.Level.Should().Be(RiskLevel.Medium);
        risk.Evidence[^1].Should().Contain("destructiveHint absent").And.Contain("the verbs, phrases and schema decide");
    }

    [Test]
    public void Classify_IdempotentAndOpenWorldHints_AreQuotedButDoNotChangeTheVerdict()
    {
        RiskProfile plain = Classify("list_flows", annotations: new ToolAnnotations { ReadOnlyHint = true });
        RiskProfile hinted = Classify("list_flows", annotations: new ToolAnnotations { ReadOnlyHint = true, IdempotentHint = true, OpenWorldHint = false });

        hinted.Category.Should().Be(plain.Category);
        hinted.Level.Should().Be(plain.Level);
        hinted.Evidence.Should().Contain(e => e.Contains("idempotentHint=true, openWorldHint=false"));
    }

    // --- Name verbs in every case style --------------------------------------------------

    [TestCase("delete_repository")]
    [TestCase("deleteRepository")]
    [TestCase("DeleteRepository")]
    [TestCase("delete-repository")]
    [TestCase("repository.delete")]
    [TestCase("Delete Repository")]
    [TestCase("DELETE_REPOSITORY")]
    public void Classify_DeleteVerbInAnyCaseStyle_IsDestructive(string name)
    {
        RiskProfile risk = Classify(name);

        risk.Category.Should().Be(RiskCategory.Destructive);
        risk.Evidence[0].Should().StartWith("the name verb").And.ContainEquivalentOf("'delete'");
    }

    [TestCase("list_flows", RiskCategory.Read)]
    [TestCase("getFlowYaml", RiskCategory.Read)]
    [TestCase("search-logs", RiskCategory.Read)]
    [TestCase("create_flow", RiskCategory.Write)]
    [TestCase("updateIssue", RiskCategory.Write)]
    [TestCase("issue_write", RiskCategory.Write)]
    [TestCase("pull_request_read", RiskCategory.Read)]
    [TestCase("slack_post_message", RiskCategory.Write)]
    [TestCase("mark_all_notifications_read", RiskCategory.Write)]
    [TestCase("purgeCache", RiskCategory.Destructive)]
    [TestCase("kill-process", RiskCategory.Destructive)]
    [TestCase("execute_flow", RiskCategory.Execute)]
    [TestCase("workflow.trigger", RiskCategory.Execute)]
    [TestCase("runPipeline", RiskCategory.Execute)]
    [TestCase("refund_payment", RiskCategory.Financial)]
    [TestCase("payInvoice", RiskCategory.Financial)]
    public void Classify_NameVerb_GivesItsCategory(string name, RiskCategory expected)
    {
        Classify(name).Category.Should().Be(expected);
    }

    [TestCase("start_process", RiskCategory.Execute)]
    [TestCase("resumeExecution", RiskCategory.Execute)]
    [TestCase("start_search", RiskCategory.Read)]
    [TestCase("start_timer", RiskCategory.Write)]
    public void Classify_StartVerb_RunsOnlyWhenItsObjectIsRunnable(string name, RiskCategory expected)
    {
        Classify(name).Category.Should().Be(expected);
    }

    // --- Description --------------------------------------------------------------------

    [Test]
    public void Classify_DescriptionOpeningVerb_DecidesWhenTheNameHasNone()
    {
        RiskProfile risk = Classify("namespace_files", "This tool will remove a file from the namespace.");

        risk.Category.Should().Be(RiskCategory.Destructive);
        risk.Evidence[0].Should().Be("the description's verb 'remove' says Destructive");
    }

    [Test]
    public void Classify_DescriptionVerbInThirdPerson_IsRecognised()
    {
        Classify("flow_tool", "Lists every flow of a namespace.").Category.Should().Be(RiskCategory.Read);
        Classify("flow_tool", "Executes a flow and waits for it.").Category.Should().Be(RiskCategory.Execute);
    }

    [Test]
    public void Classify_DescriptionPhraseSaysDataIsLost_IsDestructiveEvenWithAWriteVerb()
    {
        RiskProfile risk = Classify("reset_branch", "Resets migrations of a branch. Any untracked data or schema changes will be lost.");

        risk.Category.Should().Be(RiskCategory.Destructive);
        risk.Evidence[0].Should().Be("the description says 'will be lost': Destructive");
        risk.Evidence.Should().Contain(e => e.StartsWith("the name verb 'reset' says Write, but") && e.EndsWith("the riskier reading wins"));
    }

    [Test]
    public void Classify_DescriptionMentioningAnotherToolsVerbLater_DoesNotCount()
    {
        // Only the opening verb is read; "execute_command" later in the text is not this tool's action.
        RiskProfile risk = Classify("read_file", "Read contents from files. Prefer this over 'execute_command' with cat.");

        risk.Category.Should().Be(RiskCategory.Read);
    }

    // --- Input schema ---------------------------------------------------------------------

    [TestCase("sql")]
    [TestCase("command")]
    [TestCase("code")]
    [TestCase("script")]
    [TestCase("python_code")]
    [TestCase("jsCode")]
    public void Classify_PropertyTakingFreeFormCode_IsExecuteRaisedToCritical(string property)
    {
        RiskProfile risk = Classify("do_it", schema: Properties(property, "timeout_ms"));

        risk.Category.Should().Be(RiskCategory.Execute);
        risk.Level.Should().Be(RiskLevel.Critical);
        risk.Evidence[0].Should().Be($"the input property '{property}' takes free-form code, commands or SQL: Execute, raised to Critical");
    }

    [Test]
    public void Classify_ExecuteVerbWithoutCode_StaysHigh()
    {
        RiskProfile risk = Classify("execute_flow", "Start a flow execution.", schema: Properties("namespace", "flow_id", "inputs"));

        risk.Category.Should().Be(RiskCategory.Execute);
        risk.Level.Should().Be(RiskLevel.High);
    }

    [Test]
    public void Classify_QueryPropertyOfASqlTool_IsExecuteCritical()
    {
        RiskProfile risk = Classify("read_query", "Execute a SELECT query on the SQLite database", schema: Properties("query"));

        risk.Category.Should().Be(RiskCategory.Execute);
        risk.Level.Should().Be(RiskLevel.Critical);
    }

    [Test]
    public void Classify_QueryPropertyOfASearchTool_StaysRead()
    {
        RiskProfile risk = Classify("search_issues", "Search issues by text.", schema: Properties("query", "page"));

        risk.Category.Should().Be(RiskCategory.Read);
    }

    [TestCase("country_code")]
    [TestCase("postal_code")]
    public void Classify_PropertyNamedSomethingCode_IsNotCode(string property)
    {
        Classify("update_address", schema: Properties(property)).Category.Should().Be(RiskCategory.Write);
    }

    [Test]
    public void Classify_ExecuteToolThatSaysItIsDestructive_StaysExecuteAtCritical()
    {
        RiskProfile risk = Classify("execute_sql", "Executes raw SQL in the Postgres database.",
            new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = true }, Properties("project_id", "query"));

        risk.Category.Should().Be(RiskCategory.Execute);
        risk.Level.Should().Be(RiskLevel.Critical);
    }

    [Test]
    public void Classify_ActionEnum_IsClassifiedByItsMostDangerousAction()
    {
        const string schema = """{"type":"object","properties":{"action":{"type":"string","enum":["get","set","list","delete"]},"key":{"type":"string"}}}""";

        RiskProfile risk = Classify("manage_kv_store", "Perform a KV operation in the given namespace.", schema: schema);

        risk.Category.Should().Be(RiskCategory.Destructive);
        risk.Evidence[0].Should().Be("the 'action' enum's most dangerous action 'delete' says Destructive");
    }

    [Test]
    public void Classify_MethodEnumThatOnlyReads_IsRead()
    {
        const string schema = """{"type":"object","properties":{"method":{"type":"string","enum":["get_workflow","get_workflow_run","download_workflow_run_artifact"]}}}""";

        Classify("actions_get", schema: schema).Category.Should().Be(RiskCategory.Read);
    }

    [Test]
    public void Classify_OperationEnumThatRuns_IsExecute()
    {
        const string schema = """{"type":"object","properties":{"operation":{"type":"string","enum":["list_jobs","run_job","cancel_job"]}}}""";

        RiskProfile risk = Classify("jobs", schema: schema);

        risk.Category.Should().Be(RiskCategory.Execute);
        risk.Evidence[0].Should().Contain("'run_job'");
    }

    // --- Money ------------------------------------------------------------------------------

    [Test]
    public void Classify_ChangingVerbOnAMoneyNoun_IsFinancialCritical()
    {
        RiskProfile risk = Classify("create_refund", "This tool will refund a payment intent in Stripe.", schema: Properties("payment_intent", "amount"));

        risk.Category.Should().Be(RiskCategory.Financial);
        risk.Level.Should().Be(RiskLevel.Critical);
    }

    [Test]
    public void Classify_AmountAndCurrencyPropertiesWithAWriteVerb_MoveMoneyAtOnce()
    {
        RiskProfile risk = Classify("create_ledger_entry", schema: Properties("destination", "amount", "currency"));

        risk.Category.Should().Be(RiskCategory.Financial);
        risk.Level.Should().Be(RiskLevel.Critical);
        risk.Evidence[0].Should().Contain("the input property 'amount'");
    }

    [Test]
    public void Classify_ReadingMoneyThings_StaysRead()
    {
        Classify("list_payment_intents", schema: Properties("customer", "limit")).Category.Should().Be(RiskCategory.Read);
        Classify("get_refund", schema: Properties("refund_id", "amount")).Category.Should().Be(RiskCategory.Read);
    }

    [Test]
    public void Classify_FinancialBeatsDestructiveOnATie()
    {
        RiskProfile risk = Classify("cancel_subscription", annotations: new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = true });

        risk.Category.Should().Be(RiskCategory.Financial);
        risk.Evidence.Should().Contain(e => e.StartsWith("destructiveHint=true says Destructive") && e.EndsWith("the riskier reading wins"));
    }

    [Test]
    public void Classify_SubscriptionQualifiedByAnotherNoun_IsNotBilling()
    {
        Classify("update_notification_subscription").Category.Should().Be(RiskCategory.Write);
    }

    // --- Evidence ---------------------------------------------------------------------------

    [Test]
    public void Classify_Always_GivesNonEmptyEvidenceThatNamesTheDecidingSignalFirst()
    {
        RiskProfile risk = Classify("run_python_code", "Tool to execute Python code.", schema: Properties("python_code"));

        risk.Evidence.Should().NotBeEmpty();
        risk.Evidence[0].Should().Contain("'python_code'");
        risk.Evidence.Should().Contain("the name verb 'run' says Execute");
    }

    [Test]
    public void Classify_ReadmeExample_GivesTheEvidenceTheReadmeShows()
    {
        RiskProfile risk = Classify("delete_flow", "Delete a flow", new ToolAnnotations { ReadOnlyHint = true });

        risk.ToString().Should().Be("Destructive, Critical");
        risk.Evidence.Should().Equal(
            "the name verb 'delete' says Destructive",
            "the description's verb 'Delete' says Destructive",
            "readOnlyHint=true claims Read, but the name verb 'delete' says Destructive; the riskier reading wins");
    }

    [Test]
    public void Classify_NullTool_Throws()
    {
        FluentActions.Invoking(() => ToolRiskClassifier.Default.Classify(null!)).Should().Throw<ArgumentNullException>();
    }
}
