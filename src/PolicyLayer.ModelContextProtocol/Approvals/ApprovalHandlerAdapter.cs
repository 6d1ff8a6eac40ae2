using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using PolicyLayer.Gate;

namespace PolicyLayer.Mcp;

/// <summary>A host's <see cref="IApprovalHandler"/>, asked by the gate in place of the client.</summary>
internal sealed class ApprovalHandlerAdapter(IApprovalHandler handler) : IGateApprover
{
    public async ValueTask<(bool Approved, string Reason)> ApproveAsync(ToolCall call, PolicyDecision held, object? hostContext, CancellationToken cancellationToken)
    {
        var result = await handler.RequestApprovalAsync(
            new ApprovalRequest(call, held, (RequestContext<CallToolRequestParams>)hostContext!), cancellationToken).ConfigureAwait(false);
        return (result.IsApproved, result.Reason);
    }
}
