namespace PolicyLayer.Gateway;

/// <summary>What a client's request is, for what the gateway does with the server's answer to it.</summary>
internal enum RequestKind
{
    /// <summary>Relayed back unchanged (with the client's id).</summary>
    Other,

    /// <summary>initialize: the answer may be rewritten to declare that the tool list can change.</summary>
    Initialize,

    /// <summary>tools/call: a failed answer gives the decision's reservation back.</summary>
    ToolCall,

    /// <summary>tools/list: the answer is filtered through the policy.</summary>
    ToolsList,
}
