namespace PolicyLayer.Gateway;

/// <summary>Who is calling, as the gateway established it from the request's credential, and the evaluator that decides for them.</summary>
/// <param name="Owner">What a session is bound to: only requests with the same credential may use it.</param>
/// <param name="GrantId">The grant calls count under.</param>
/// <param name="UserId">The user, when the credential names one.</param>
/// <param name="Claims">A validated token's claims.</param>
/// <param name="Evaluator">The evaluator of the caller's policy (a grant's own, or the gateway's).</param>
internal sealed record GatewayCaller(string Owner, string? GrantId, string? UserId, IReadOnlyDictionary<string, IReadOnlyList<string>>? Claims, PolicyEvaluator Evaluator)
{
    public override string ToString() => UserId is null ? $"grant {GrantId ?? "(none)"}" : $"user {UserId} (grant {GrantId ?? "none"})";
}
