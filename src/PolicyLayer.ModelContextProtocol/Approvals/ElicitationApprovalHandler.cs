using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace PolicyLayer.Mcp;

/// <summary>
/// The built-in approver: asks the person at the client through MCP elicitation, showing the tool, the
/// policy's reason and the arguments. No elicitation capability, a decline, a cancel or a time-out refuses the call.
/// </summary>
internal sealed class ElicitationApprovalHandler : IApprovalHandler
{
    /// <summary>The key of the approval's input request in a multi-round-trip exchange.</summary>
    internal const string InputKey = "policylayer_approval";

    /// <summary>The boolean field the person ticks to approve.</summary>
    internal const string ApproveField = "approve";

    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly ApprovalRoundTrip _roundTrip;
    private readonly byte[] _key;

    public ElicitationApprovalHandler(PolicyLayerMcpOptions options, TimeProvider time)
    {
        _time = time;
        _timeout = options.ApprovalTimeout;
        _roundTrip = options.ApprovalRoundTrip;
        _key = options.ApprovalSigningKey is { } key ? key.ToArray() : RandomNumberGenerator.GetBytes(32);
    }

    public async ValueTask<ApprovalResult> RequestApprovalAsync(ApprovalRequest request, CancellationToken cancellationToken)
    {
        var context = request.Context;
        var server = context.Server;

        // A retry of a multi-round-trip request carries the person's answer and the state we signed.
        if (context.Params?.InputResponses is { } responses && responses.TryGetValue(InputKey, out var response))
        {
            return ReadRetry(request, response, context.Params.RequestState);
        }

        if (server.ClientCapabilities?.Elicitation is null)
        {
            return ApprovalResult.Refused("Approval is required, and this client cannot be asked: it did not declare the MCP elicitation capability.");
        }

        var useInputRequests = _roundTrip == ApprovalRoundTrip.InputRequests
            || (_roundTrip == ApprovalRoundTrip.Auto && context.JsonRpcRequest.Context?.RelatedTransport is StreamableHttpServerTransport { Stateless: true });
        if (useInputRequests)
        {
            if (!server.IsMrtrSupported)
            {
                return ApprovalResult.Refused("Approval is required, and this client cannot be asked: the server is stateless and the client does not support multi-round-trip requests.");
            }

            // Nothing was counted for this round: the retry is decided afresh and counted once.
            var state = Sign(request.Call, context.Params, _time.GetUtcNow().ToUnixTimeMilliseconds());
            throw new InputRequiredException(
                new Dictionary<string, InputRequest> { [InputKey] = InputRequest.ForElicitation(CreateElicitation(request)) },
                state);
        }

        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        ElicitResult answer;
        try
        {
            answer = await server.ElicitAsync(CreateElicitation(request), linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return ApprovalResult.Refused(string.Create(CultureInfo.InvariantCulture, $"Approval is required, and nobody answered within {_timeout.TotalSeconds:0} s."));
        }
        catch (McpException ex)
        {
            return ApprovalResult.Refused("Approval is required, and the client could not ask for it: " + ex.Message);
        }

        return Interpret(answer);
    }

    private ApprovalResult ReadRetry(ApprovalRequest request, InputResponse response, string? state)
    {
        if (state is null || !TryReadIssuedAt(state, out var issuedAt) || !CryptographicOperations.FixedTimeEquals(
                Encoding.ASCII.GetBytes(Sign(request.Call, request.Context.Params, issuedAt)), Encoding.ASCII.GetBytes(state)))
        {
            return ApprovalResult.Refused("Approval is required, and the approval sent with this call was not issued for it.");
        }

        if (_time.GetUtcNow().ToUnixTimeMilliseconds() - issuedAt > (long)_timeout.TotalMilliseconds)
        {
            return ApprovalResult.Refused(string.Create(CultureInfo.InvariantCulture, $"Approval is required, and the approval came after the {_timeout.TotalSeconds:0} s allowed."));
        }

        var answer = response.Deserialize(InputResponse.ElicitResultJsonTypeInfo);
        return answer is null
            ? ApprovalResult.Refused("Approval is required, and the client's answer could not be read.")
            : Interpret(answer);
    }

    private static ApprovalResult Interpret(ElicitResult answer)
    {
        if (!string.Equals(answer.Action, "accept", StringComparison.Ordinal))
        {
            return ApprovalResult.Refused(string.Equals(answer.Action, "decline", StringComparison.Ordinal)
                ? "Approval is required, and the person at the client declined this call."
                : "Approval is required, and the person at the client cancelled the request.");
        }

        return answer.Content is { } content && content.TryGetValue(ApproveField, out var approve) && approve.ValueKind == JsonValueKind.True
            ? ApprovalResult.Approved("Approved by the person at the client.")
            : ApprovalResult.Refused("Approval is required, and the person at the client did not tick 'approve'.");
    }

    private static ElicitRequestParams CreateElicitation(ApprovalRequest request)
    {
        var args = request.Context.Params?.Arguments is { Count: > 0 } a
            ? JsonSerializer.Serialize(a, PolicyLayerMcpJsonContext.Default.IDictionaryStringJsonElement)
            : "(none)";
        return new ElicitRequestParams
        {
            Message = $"The agent wants to call the tool '{request.Call.ToolName}'.\nWhy approval is needed: {request.Decision.Reason}\nArguments: {args}\nApprove this call?",
            RequestedSchema = new ElicitRequestParams.RequestSchema
            {
                Properties = new Dictionary<string, ElicitRequestParams.PrimitiveSchemaDefinition>
                {
                    [ApproveField] = new ElicitRequestParams.BooleanSchema
                    {
                        Title = "Approve",
                        Description = $"Let the agent call '{request.Call.ToolName}' with these arguments.",
                        Default = false,
                    },
                },
                Required = [ApproveField],
            },
        };
    }

    // The state binds the approval to this tool, these arguments and this caller, and dates it.
    private string Sign(ToolCall call, CallToolRequestParams? parameters, long issuedAt)
    {
        var args = parameters?.Arguments is { } a ? JsonSerializer.Serialize(a, PolicyLayerMcpJsonContext.Default.IDictionaryStringJsonElement) : string.Empty;
        var text = string.Join('\u001f', "v1", call.ToolName, args, call.Caller.GrantId, call.Caller.UserId,
            issuedAt.ToString(CultureInfo.InvariantCulture));
        var mac = HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(text));
        return issuedAt.ToString(CultureInfo.InvariantCulture) + "." + Base64Url.EncodeToString(mac);
    }

    private static bool TryReadIssuedAt(string state, out long issuedAt)
    {
        var dot = state.IndexOf('.', StringComparison.Ordinal);
        issuedAt = 0;
        return dot > 0 && long.TryParse(state.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out issuedAt);
    }
}
