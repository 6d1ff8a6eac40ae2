using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace PolicyLayer.Testing;

/// <summary>
/// One caller of a <see cref="PolicyTestHarness"/>: an identity that calls tools. Immutable; the <c>With*</c>
/// methods return a new caller, so that one test can act as several grants or sessions.
/// </summary>
public sealed class PolicyTestCaller
{
    /// <summary>Why calls whose arguments are an object are not trimming- or AOT-safe: tests run under the JIT.</summary>
    private const string ArgumentsByReflection =
        "Arguments given as an object (an anonymous object, say) are serialized to JSON by reflection. Tests run under the JIT, where that works; pass a JsonElement or a string of JSON where reflection is not available.";
    private readonly PolicyTestHarness _harness;

    internal PolicyTestCaller(PolicyTestHarness harness, CallerIdentity identity)
    {
        _harness = harness;
        Identity = identity;
    }

    /// <summary>Who calls.</summary>
    public CallerIdentity Identity { get; }

    /// <summary>This caller with grant <paramref name="grantId"/>.</summary>
    /// <param name="grantId">The grant id, or <see langword="null"/> for none.</param>
    public PolicyTestCaller WithGrant(string? grantId) => With(Copy(grantId, Identity.SessionId, Identity.AgentId, Identity.UserId, Identity.Claims));

    /// <summary>This caller in session <paramref name="sessionId"/>.</summary>
    /// <param name="sessionId">The session id, or <see langword="null"/> for none.</param>
    public PolicyTestCaller WithSession(string? sessionId) => With(Copy(Identity.GrantId, sessionId, Identity.AgentId, Identity.UserId, Identity.Claims));

    /// <summary>This caller from client application <paramref name="agentId"/>.</summary>
    /// <param name="agentId">The agent id, or <see langword="null"/> for none.</param>
    public PolicyTestCaller WithAgent(string? agentId) => With(Copy(Identity.GrantId, Identity.SessionId, agentId, Identity.UserId, Identity.Claims));

    /// <summary>This caller acting for person <paramref name="userId"/>.</summary>
    /// <param name="userId">The user id, or <see langword="null"/> for none.</param>
    public PolicyTestCaller WithUser(string? userId) => With(Copy(Identity.GrantId, Identity.SessionId, Identity.AgentId, userId, Identity.Claims));

    /// <summary>
    /// This caller with claim <paramref name="type"/> holding exactly <paramref name="values"/> (none removes it), as an
    /// authenticated principal's claims reach <c>caller.claims.&lt;type&gt;</c> conditions.
    /// </summary>
    /// <param name="type">The claim type, such as <c>role</c>.</param>
    /// <param name="values">The claim's values; several for a multi-valued claim such as roles.</param>
    public PolicyTestCaller WithClaim(string type, params string[] values)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentNullException.ThrowIfNull(values);
        var pairs = Identity.Claims
            .Where(c => c.Key != type)
            .SelectMany(c => c.Value.Select(v => new KeyValuePair<string, string>(c.Key, v)))
            .Concat(values.Select(v => new KeyValuePair<string, string>(type, v)));
        return With(Copy(Identity.GrantId, Identity.SessionId, Identity.AgentId, Identity.UserId, CallerIdentity.GroupClaims(pairs)));
    }

    private static CallerIdentity Copy(
        string? grant, string? session, string? agent, string? user, IReadOnlyDictionary<string, IReadOnlyList<string>> claims) =>
        new() { GrantId = grant, SessionId = session, AgentId = agent, UserId = user, Claims = claims };

    /// <summary>Calls <paramref name="toolName"/> once, now.</summary>
    /// <param name="toolName">The tool.</param>
    /// <param name="arguments">
    /// The call's arguments: an anonymous object or any value that serializes to a JSON object, a
    /// <see cref="JsonElement"/>, or a <see cref="string"/> of JSON object text. <see langword="null"/> for none.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The policy's decision.</returns>
    [RequiresUnreferencedCode(ArgumentsByReflection)]
    [RequiresDynamicCode(ArgumentsByReflection)]
    public Task<PolicyDecision> CallAsync(string toolName, object? arguments = null, CancellationToken cancellationToken = default) =>
        EvaluateAsync(new ToolCall(toolName, Identity, ToArguments(arguments)), cancellationToken);

    /// <summary>Calls <paramref name="toolName"/> <paramref name="times"/> times in a row, with no time passing between calls unless <paramref name="interval"/> says so.</summary>
    /// <param name="toolName">The tool.</param>
    /// <param name="times">How many calls; one or more.</param>
    /// <param name="arguments">The arguments of every call (see <see cref="CallAsync(string, object?, CancellationToken)"/>).</param>
    /// <param name="interval">How far the harness's clock moves between two calls; none when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <returns>The decisions, in call order.</returns>
    [RequiresUnreferencedCode(ArgumentsByReflection)]
    [RequiresDynamicCode(ArgumentsByReflection)]
    public async Task<PolicyDecisionList> CallAsync(string toolName, int times, object? arguments = null, TimeSpan? interval = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(times, 1);
        var args = ToArguments(arguments);
        var decisions = new PolicyDecision[times];
        for (var i = 0; i < times; i++)
        {
            if (i > 0 && interval is { } step)
            {
                _harness.Advance(step);
            }

            decisions[i] = await EvaluateAsync(new ToolCall(toolName, Identity, args), cancellationToken).ConfigureAwait(false);
        }

        return new PolicyDecisionList(toolName, decisions);
    }

    /// <summary>Calls a tool whose descriptor is known (description, annotations), so that its risk comes from the classifier as a server would see it.</summary>
    /// <param name="tool">The tool's descriptor.</param>
    /// <param name="arguments">The call's arguments (see <see cref="CallAsync(string, object?, CancellationToken)"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The policy's decision.</returns>
    [RequiresUnreferencedCode(ArgumentsByReflection)]
    [RequiresDynamicCode(ArgumentsByReflection)]
    public Task<PolicyDecision> CallAsync(ToolDescriptor tool, object? arguments = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tool);
        return EvaluateAsync(new ToolCall(tool.Name, Identity, ToArguments(arguments), tool), cancellationToken);
    }

    /// <summary>Calls <paramref name="toolName"/> once as a call that a person already approved: it skips the approval step but obeys every other rule and limit.</summary>
    /// <param name="toolName">The tool.</param>
    /// <param name="arguments">The call's arguments (see <see cref="CallAsync(string, object?, CancellationToken)"/>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The policy's decision.</returns>
    [RequiresUnreferencedCode(ArgumentsByReflection)]
    [RequiresDynamicCode(ArgumentsByReflection)]
    public Task<PolicyDecision> CallApprovedAsync(string toolName, object? arguments = null, CancellationToken cancellationToken = default) =>
        EvaluateAsync(new ToolCall(toolName, Identity, ToArguments(arguments)) { IsApproved = true }, cancellationToken);

    /// <inheritdoc />
    public override string ToString() => Identity.ToString();

    private PolicyTestCaller With(CallerIdentity identity) => new(_harness, identity);

    private async Task<PolicyDecision> EvaluateAsync(ToolCall call, CancellationToken cancellationToken) =>
        await _harness.Evaluator.EvaluateAsync(call, cancellationToken).ConfigureAwait(false);

    /// <summary>Turns test-friendly arguments into the dictionary of JSON values a tools/call request carries.</summary>
    [RequiresUnreferencedCode(ArgumentsByReflection)]
    [RequiresDynamicCode(ArgumentsByReflection)]
    internal static Dictionary<string, JsonElement>? ToArguments(object? arguments)
    {
        JsonElement element;
        switch (arguments)
        {
            case null:
                return null;
            case string json:
                try
                {
                    using (var document = JsonDocument.Parse(json))
                    {
                        element = document.RootElement.Clone();
                    }
                }
                catch (JsonException ex)
                {
                    throw new ArgumentException($"The arguments string is not JSON: {ex.Message}", nameof(arguments), ex);
                }

                break;
            case JsonElement given:
                element = given;
                break;
            default:
                element = JsonSerializer.SerializeToElement(arguments, arguments.GetType());
                break;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"A tool call's arguments are a JSON object; got {element.ValueKind}.", nameof(arguments));
        }

        var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            result[property.Name] = property.Value.Clone();
        }

        return result;
    }
}
