// Uses the packages as a user would: load a policy, evaluate calls, register through DI, and load every
// other PolicyLayer library that was packed. Exit code 0 means every check passed.
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using PolicyLayer;

var failures = new List<string>();

var policy = PolicyDocument.Parse("""
    {
      "version": "1",
      "default": "deny",
      "tools": {
        "list_flows": {},
        "add_labels": { "limits": [ { "counter": "labels", "window": "minute", "max": 1, "scope": "grant" } ] }
      }
    }
    """);
using (var evaluator = new PolicyEvaluator(policy))
{
    var caller = new CallerIdentity { GrantId = "grant-1" };
    Expect(await evaluator.EvaluateAsync(new ToolCall("list_flows", caller)), PolicyOutcome.Allow, "/tools/list_flows");
    Expect(await evaluator.EvaluateAsync(new ToolCall("delete_flow", caller)), PolicyOutcome.Deny, "(default)");
    Expect(await evaluator.EvaluateAsync(new ToolCall("add_labels", caller)), PolicyOutcome.Allow, "/tools/add_labels");
    Expect(await evaluator.EvaluateAsync(new ToolCall("add_labels", caller)), PolicyOutcome.Deny, "/tools/add_labels/limits/0");
}

try
{
    PolicyDocument.Parse("""{ "version": "1", "tools": { "x": { "action": "maybe" } } }""");
    failures.Add("an invalid policy loaded");
}
catch (PolicyValidationException ex) when (ex.Errors.Count == 1 && ex.Errors[0].Line == 1)
{
}

var services = new ServiceCollection();
services.AddPolicyLayer(o => o.Policy = policy);
using (var provider = services.BuildServiceProvider())
{
    Expect(await provider.GetRequiredService<PolicyEvaluator>().EvaluateAsync(new ToolCall("list_flows")), PolicyOutcome.Allow, "/tools/list_flows");
}

if (!PolicyDocument.GetJsonSchema().Contains("\"version\"", StringComparison.Ordinal))
{
    failures.Add("the JSON Schema is not in the package");
}

// The other libraries: referenced by package when packed; each must load and export public types.
foreach (var name in new[] { "PolicyLayer.ModelContextProtocol", "PolicyLayer.Redis", "PolicyLayer.Testing" })
{
    if (!File.Exists(Path.Combine(AppContext.BaseDirectory, name + ".dll")))
    {
        Console.WriteLine($"PackageConsumer: {name} was not packed; skipped");
        continue;
    }

    var types = Assembly.Load(name).GetExportedTypes();
    Console.WriteLine($"PackageConsumer: {name} loads, {types.Length} public types");
    if (types.Length == 0)
    {
        failures.Add($"{name} exports no types");
    }
}

foreach (var failure in failures)
{
    Console.Error.WriteLine("PackageConsumer: FAIL: " + failure);
}

Console.WriteLine(failures.Count == 0 ? $"PackageConsumer: OK (PolicyLayer.Core {typeof(PolicyEvaluator).Assembly.GetName().Version})" : "PackageConsumer: FAILED");
return failures.Count == 0 ? 0 : 1;

void Expect(PolicyDecision decision, PolicyOutcome outcome, string rule)
{
    if (decision.Outcome != outcome || decision.RuleId != rule)
    {
        failures.Add($"expected {outcome} by {rule}, got {decision}");
    }
}
