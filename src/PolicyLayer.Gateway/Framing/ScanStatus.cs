namespace PolicyLayer.Gateway;

/// <summary>What one line of JSON-RPC turned out to be.</summary>
internal enum ScanStatus
{
    /// <summary>A single JSON-RPC message whose envelope is well-formed.</summary>
    Message,

    /// <summary>A JSON array: a JSON-RPC batch.</summary>
    Batch,

    /// <summary>Not JSON, or not UTF-8: JSON-RPC's parse error (-32700).</summary>
    ParseError,

    /// <summary>JSON, but not a valid or not an unambiguous JSON-RPC message: invalid request (-32600).</summary>
    InvalidRequest,
}
