using Microsoft.Extensions.Logging;

namespace PolicyLayer.Gateway;

/// <summary>The gateway's log events (source-generated). Category: <c>PolicyLayer.Gateway</c>.</summary>
internal static partial class GatewayLog
{
    public const string Category = "PolicyLayer.Gateway";

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "refused a message after an internal error: {Reason}")]
    public static partial void RefusedAfterInternalError(ILogger logger, string reason);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "dropped a message from the server: {Reason}")]
    public static partial void DroppedServerMessage(ILogger logger, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "the connection closed: {Reason}")]
    public static partial void ConnectionClosed(ILogger logger, string reason);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "could not tell the client that its tool list changed: {Reason}")]
    public static partial void ListChangedNotSent(ILogger logger, string reason);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "refused a call of {Tool}: {Reason}")]
    public static partial void CallNotClassified(ILogger logger, string tool, string reason);

    [LoggerMessage(EventId = 106, Level = LogLevel.Debug, Message = "dropped an answer from the {Peer} to a request the gateway never sent it (id {Id})")]
    public static partial void DroppedUnmatchedAnswer(ILogger logger, string peer, string id);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "dropped a message for the client: more waited for its GET stream than the gateway keeps")]
    public static partial void DroppedForSlowClient(ILogger logger);

    [LoggerMessage(EventId = 109, Level = LogLevel.Information, Message = "session {SessionId} started for {Caller} (upstream {Upstream})")]
    public static partial void SessionStarted(ILogger logger, string sessionId, string caller, string upstream);

    [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "session {SessionId} ended: {Reason}")]
    public static partial void SessionEnded(ILogger logger, string sessionId, string reason);

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "could not start a session: {Reason}")]
    public static partial void SessionNotStarted(ILogger logger, string reason);
}
