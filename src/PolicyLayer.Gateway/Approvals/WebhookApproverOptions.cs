namespace PolicyLayer.Gateway;

/// <summary>Options of the webhook approver (<c>AddPolicyLayerWebhookApprover</c>).</summary>
public sealed class WebhookApproverOptions
{
    /// <summary>Where each held call is posted. Required; https outside tests.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Uri? Url { get; set; }

    /// <summary>
    /// The shared secret (at least 32 characters) that signs what is posted and what comes back to the callback:
    /// HMAC-SHA256 over <c>v1:&lt;timestamp&gt;:&lt;body&gt;</c>, in the <c>X-PolicyLayer-Signature</c> header as
    /// <c>v1=&lt;hex&gt;</c>, with the Unix time in seconds in <c>X-PolicyLayer-Timestamp</c>. Required.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Secret { get; set; }

    /// <summary>Whether the post is a Slack message (<c>text</c> and <c>blocks</c>, for an incoming webhook), with the record under <c>policylayer</c>.</summary>
    /// <value>The default value is <see langword="false"/>: <c>{"type": "policylayer.approval.pending", "approval": {...}}</c>.</value>
    public bool SlackFormat { get; set; }

    /// <summary>The callback's public URL, told to the receiver in the post (<c>callbackUrl</c>) so that it knows where to answer.</summary>
    /// <value>The default value is <see langword="null"/>: not told.</value>
    public Uri? CallbackUrl { get; set; }

    /// <summary>How far a callback's timestamp may be from the server's clock; older or newer callbacks are refused.</summary>
    /// <value>The default value is 5 minutes.</value>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a post may take before it is abandoned (the call still waits in the inbox).</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan PostTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many callback signatures are remembered to refuse replays (each for twice <see cref="MaxClockSkew"/>); past it, callbacks are refused until some expire.</summary>
    /// <value>The default value is 10,000.</value>
    public int MaxRememberedCallbacks { get; set; } = 10_000;

    /// <summary>What is wrong with the options, naming the option; null when nothing is.</summary>
    internal string? Problem()
    {
        if (Url is null || !Url.IsAbsoluteUri || (Url.Scheme != Uri.UriSchemeHttps && Url.Scheme != Uri.UriSchemeHttp))
        {
            return "WebhookApproverOptions.Url must be an absolute http(s) URL.";
        }

        if (Secret is null || Secret.Length < 32)
        {
            return "WebhookApproverOptions.Secret must be at least 32 characters.";
        }

        if (MaxClockSkew <= TimeSpan.Zero || PostTimeout <= TimeSpan.Zero)
        {
            return "WebhookApproverOptions.MaxClockSkew and PostTimeout must be positive.";
        }

        return MaxRememberedCallbacks < 1 ? "WebhookApproverOptions.MaxRememberedCallbacks must be at least 1." : null;
    }
}
