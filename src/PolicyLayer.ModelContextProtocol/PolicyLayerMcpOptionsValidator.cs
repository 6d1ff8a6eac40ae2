using System.Globalization;
using Microsoft.Extensions.Options;
using PolicyLayer.Gate;
using PolicyLayer.Policies;

namespace PolicyLayer.Mcp;

/// <summary>Checks <see cref="PolicyLayerMcpOptions"/> once, at start-up, with messages that name each option at fault.</summary>
internal sealed class PolicyLayerMcpOptionsValidator : IValidateOptions<PolicyLayerMcpOptions>
{
    public ValidateOptionsResult Validate(string? name, PolicyLayerMcpOptions options)
    {
        var failures = new List<string>();
        if (options.ApprovalTimeout <= TimeSpan.Zero || options.ApprovalTimeout > ToolCallGate.MaxApprovalTimeout)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture,
                $"PolicyLayerMcpOptions.ApprovalTimeout must be positive and at most one day; it is {options.ApprovalTimeout}."));
        }

        if (!Enum.IsDefined(options.ApprovalRoundTrip))
        {
            failures.Add($"PolicyLayerMcpOptions.ApprovalRoundTrip must be Auto, Elicitation or InputRequests; it is {(int)options.ApprovalRoundTrip}.");
        }

        if (!Enum.IsDefined(options.CounterStoreFailureMode))
        {
            failures.Add($"PolicyLayerMcpOptions.CounterStoreFailureMode must be FailClosed or FailOpen; it is {(int)options.CounterStoreFailureMode}.");
        }

        if (options.WatchPolicyFile && options.Policy is not null)
        {
            failures.Add("PolicyLayerMcpOptions.WatchPolicyFile needs PolicyLayerMcpOptions.PolicyPath, and PolicyLayerMcpOptions.Policy is set instead: there is no file to watch.");
        }

        if (string.IsNullOrEmpty(options.GrantClaimType))
        {
            failures.Add("PolicyLayerMcpOptions.GrantClaimType must name a claim type; it is empty.");
        }

        if (options.UserClaimType is { Length: 0 })
        {
            failures.Add("PolicyLayerMcpOptions.UserClaimType must name a claim type, or be null for the default claims; it is empty.");
        }

        if (options.ApprovalSigningKey is { Length: < 16 } key)
        {
            failures.Add($"PolicyLayerMcpOptions.ApprovalSigningKey must be at least 16 bytes long; it is {key.Length}.");
        }

        if (options.Policy is null && string.IsNullOrWhiteSpace(options.PolicyPath))
        {
            failures.Add("PolicyLayerMcpOptions.PolicyPath or PolicyLayerMcpOptions.Policy must be set: PolicyLayer needs a policy.");
        }
        else if (options.Policy is null && PolicyFileFailure(options.PolicyPath!) is { } failure)
        {
            failures.Add(failure);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // At start-up, so that a missing or invalid file stops the host with one message, not when the first call comes
    // or from inside the service container. The evaluator loads the file again when it is built.
    private static string? PolicyFileFailure(string path)
    {
        try
        {
            PolicyDocument.Load(path);
            return null;
        }
        catch (Exception ex) when (PolicyFileProblem.IsLoadFailure(ex))
        {
            return PolicyFileProblem.Describe("PolicyLayerMcpOptions.PolicyPath", path, ex);
        }
    }
}
