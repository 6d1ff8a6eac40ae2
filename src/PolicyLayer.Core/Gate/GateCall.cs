using System.Text.Json;

namespace PolicyLayer.Gate;

/// <summary>One tools/call as a host hands it to the gate.</summary>
internal sealed class GateCall
{
    /// <summary>Creates a call.</summary>
    /// <param name="call">The tool, caller, arguments and descriptor.</param>
    /// <param name="argumentProblem">Why the arguments cannot be read one way (see <see cref="ArgumentNames"/>), checked by the host on what it received; null when they can.</param>
    public GateCall(ToolCall call, string? argumentProblem)
    {
        Call = call;
        ArgumentProblem = argumentProblem;
    }

    /// <summary>The call as the evaluator sees it.</summary>
    public ToolCall Call { get; }

    /// <summary>Why the arguments cannot be read one way, or null.</summary>
    public string? ArgumentProblem { get; }

    /// <summary>On a retried multi-round-trip call: the client's answer to the approval's input request.</summary>
    public JsonElement? ApprovalAnswer { get; init; }

    /// <summary>On a retried multi-round-trip call: the state the client echoed back.</summary>
    public string? ApprovalState { get; init; }

    /// <summary>
    /// On a call retried after an out-of-band approval: the approval id from <c>_meta["policylayer/approval"]</c>
    /// (<see cref="GateRefusal.ApprovalMetaKey"/>); null when the call carries none.
    /// </summary>
    public string? ApprovalId { get; init; }

    /// <summary>The host's own request object, handed to a host-supplied approver.</summary>
    public object? HostContext { get; init; }

    /// <summary>
    /// A call from a tools/call's raw <c>params</c>, as a relay has it: the name, the arguments (checked for ambiguous names
    /// on the raw object, before any dictionary could merge them), and the descriptor from <paramref name="tools"/>.
    /// False, with <paramref name="problem"/> for a JSON-RPC invalid-params error, when the params are not a tools/call's.
    /// </summary>
    public static bool TryRead(JsonElement parameters, CallerIdentity caller, Func<string, ToolDescriptor?>? tools, out GateCall? call, out string? problem)
    {
        call = null;
        if (parameters.ValueKind != JsonValueKind.Object
            || !parameters.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
        {
            problem = "Invalid params: tools/call needs params with a name.";
            return false;
        }

        string name;
        try
        {
            name = nameElement.GetString()!;
        }
        catch (InvalidOperationException)
        {
            name = string.Empty;
        }

        if (name.Length == 0)
        {
            problem = "Invalid params: params.name must be a non-empty string of valid Unicode.";
            return false;
        }

        Dictionary<string, JsonElement>? arguments = null;
        string? ambiguity = null;
        if (parameters.TryGetProperty("arguments", out var argumentsElement) && argumentsElement.ValueKind != JsonValueKind.Null)
        {
            if (argumentsElement.ValueKind != JsonValueKind.Object)
            {
                problem = "Invalid params: params.arguments must be an object.";
                return false;
            }

            ambiguity = ArgumentNames.FindAmbiguity(argumentsElement);
            arguments = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var argument in argumentsElement.EnumerateObject())
            {
                arguments[argument.Name] = argument.Value;
            }
        }

        call = new GateCall(new ToolCall(name, caller, arguments, tools?.Invoke(name)), ambiguity) { ApprovalId = ReadApprovalId(parameters) };
        problem = null;
        return true;
    }

    /// <summary>The approval id in a tools/call's <c>params._meta["policylayer/approval"]</c>, when it is a string.</summary>
    public static string? ReadApprovalId(JsonElement parameters) =>
        parameters.ValueKind == JsonValueKind.Object
        && parameters.TryGetProperty("_meta", out var meta) && meta.ValueKind == JsonValueKind.Object
        && meta.TryGetProperty(GateRefusal.ApprovalMetaKey, out var id) && id.ValueKind == JsonValueKind.String
            ? id.GetString()
            : null;
}
