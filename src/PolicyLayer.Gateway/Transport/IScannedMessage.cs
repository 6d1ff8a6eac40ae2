namespace PolicyLayer.Gateway;

/// <summary>
/// A client message whose envelope its transport has scanned already, with a strict <see cref="JsonRpcScanner"/> as
/// the gateway would (the HTTP front reads a POST's id and method before the gateway does): the gateway takes this
/// result instead of scanning the same bytes again.
/// </summary>
internal interface IScannedMessage
{
    /// <summary>What the strict scan of the message found.</summary>
    ScanStatus ScanStatus { get; }

    /// <summary>The envelope the scan read; its offsets point into the message.</summary>
    ScannedMessage Envelope { get; }
}
