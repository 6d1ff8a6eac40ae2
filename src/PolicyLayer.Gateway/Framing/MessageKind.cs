namespace PolicyLayer.Gateway;

/// <summary>The kind of a well-formed JSON-RPC message.</summary>
internal enum MessageKind
{
    /// <summary>Has a method and an id.</summary>
    Request,

    /// <summary>Has a method and no id.</summary>
    Notification,

    /// <summary>Has no method, an id, and a result or an error.</summary>
    Response,
}
