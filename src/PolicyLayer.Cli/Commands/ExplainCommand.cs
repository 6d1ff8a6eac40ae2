using System.CommandLine;
using System.Text.Json;
using PolicyLayer.Cli.Common;
using PolicyLayer.Evaluation;

namespace PolicyLayer.Cli.Commands;

/// <summary>
/// <c>policylayer explain POLICY --tool NAME [--args JSON] [--grant G] [--session S] [--agent A] [--user U] [--approved]</c>:
/// the decision of one call with fresh counters, and every rule considered in precedence order with why it did
/// or did not apply. Exit 0 whatever the decision; 1 when the policy does not load; 2 for bad usage.
/// </summary>
internal static class ExplainCommand
{
    public static Command Create()
    {
        var policy = new Argument<string>("POLICY") { Description = "The policy file." };
        var tool = new Option<string>("--tool", "-t") { Description = "The tool being called.", Required = true };
        var args = new Option<string?>("--args", "-a") { Description = "The call's arguments, a JSON object, such as '{\"amount\": 6000}'." };
        var grant = new Option<string?>("--grant") { Description = "The caller's grant (credential) id." };
        var session = new Option<string?>("--session") { Description = "The caller's session id.", DefaultValueFactory = _ => "session-1" };
        var agent = new Option<string?>("--agent") { Description = "The caller's agent (client application) id." };
        var user = new Option<string?>("--user") { Description = "The caller's user id." };
        var claim = new Option<string[]>("--claim")
        {
            Description = "A claim of the caller, TYPE=VALUE, for caller.claims.<type> conditions; repeat it for several values or types.",
            AllowMultipleArgumentsPerToken = false,
        };
        var approved = new Option<bool>("--approved") { Description = "Explain the call as already approved by a person." };
        var description = new Option<string?>("--description") { Description = "The tool's description, to classify it as a server would describe it." };
        var command = new Command("explain", """
            Explain the decision for one tool call: allowed, denied or approval required, the rule that decided,
            and each rule considered (hide, exact rule, globs in order of specificity, risk rule, default) with
            each condition's result. Counters start empty. Exit codes: 0 explained (whatever the decision);
            1 the policy does not load; 2 bad usage or unreadable file.
            """)
        {
            policy, tool, args, grant, session, agent, user, claim, approved, description,
        };
        CliApp.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var document = PolicyFiles.TryLoad(parseResult.GetValue(policy)!, Console.Error);
            if (document is null)
            {
                return ExitCodes.Failed;
            }

            var toolName = parseResult.GetValue(tool)!;
            var caller = new CallerIdentity
            {
                GrantId = parseResult.GetValue(grant),
                SessionId = parseResult.GetValue(session),
                AgentId = parseResult.GetValue(agent),
                UserId = parseResult.GetValue(user),
                Claims = CallerIdentity.GroupClaims((parseResult.GetValue(claim) ?? []).Select(ParseClaim)),
            };
            var descriptor = parseResult.GetValue(description) is { } text ? new ToolDescriptor(toolName, text) : null;
            var call = new ToolCall(toolName, caller, ParseArguments(parseResult.GetValue(args)), descriptor) { IsApproved = parseResult.GetValue(approved) };
            var explanation = await PolicyExplainer.ExplainAsync(document, call, ToolRiskClassifier.Default, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            Write(Console.Out, explanation);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static KeyValuePair<string, string> ParseClaim(string text)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        return equals > 0
            ? new(text[..equals], text[(equals + 1)..])
            : throw new UsageException($"--claim \"{text}\" is not TYPE=VALUE, such as role=finance.");
    }

    internal static Dictionary<string, JsonElement>? ParseArguments(string? json)
    {
        if (json is null)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new UsageException("--args must be a JSON object, such as '{\"amount\": 6000}'.");
            }

            return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
        }
        catch (JsonException ex)
        {
            throw new UsageException($"--args is not JSON: {ex.Message}", ex);
        }
    }

    /// <summary>The arguments as one line of JSON, written without reflection (the tool also runs as a NativeAOT binary).</summary>
    private static string ArgumentsJson(IReadOnlyDictionary<string, JsonElement> arguments)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in arguments)
            {
                writer.WritePropertyName(name);
                value.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void Write(TextWriter output, PolicyExplanation explanation)
    {
        var decision = explanation.Decision;
        var call = explanation.Call;
        output.WriteLine($"Call:      {call.ToolName}{(call.Arguments is null ? "" : " " + ArgumentsJson(call.Arguments))}{(call.IsApproved ? " (approved)" : "")}");
        output.WriteLine($"Caller:    {call.Caller}");
        output.WriteLine();
        output.WriteLine($"Decision:  {OutcomeName(decision.Outcome)}");
        output.WriteLine($"Rule:      {decision.RuleId}");
        output.WriteLine($"Reason:    {decision.Reason}");
        if (decision.RetryAfter is { } retry)
        {
            output.WriteLine($"Retry in:  {Durations.Format(retry)}");
        }

        output.WriteLine($"Risk:      {explanation.Risk.Category}/{explanation.Risk.Level} ({string.Join("; ", explanation.Risk.Evidence)})");
        output.WriteLine();
        output.WriteLine("Rules considered, in order of precedence:");
        foreach (var step in explanation.Steps)
        {
            WriteStep(output, step, 1);
        }
    }

    private static void WriteStep(TextWriter output, ExplanationStep step, int depth)
    {
        var indent = new string(' ', depth * 2);
        output.WriteLine($"{indent}{Tag(step.Verdict),-15}{step.Rule}");
        output.WriteLine($"{indent}{"",-15}{step.Detail}");
        foreach (var child in step.Children)
        {
            WriteStep(output, child, depth + 2);
        }
    }

    private static string Tag(ExplanationVerdict verdict) => verdict switch
    {
        ExplanationVerdict.Decides => "[decides]",
        ExplanationVerdict.Passes => "[passes]",
        ExplanationVerdict.NotUsed => "[not used]",
        ExplanationVerdict.NoMatch => "[no match]",
        ExplanationVerdict.NotReached => "[not reached]",
        _ => "[info]",
    };

    internal static string OutcomeName(PolicyOutcome outcome) => outcome switch
    {
        PolicyOutcome.Allow => "allow",
        PolicyOutcome.Deny => "deny",
        _ => "require_approval",
    };
}
