using Microsoft.AspNetCore.Http;

namespace PolicyLayer.Gateway.Tests.Callers;

/// <summary>Who is calling, per request: the same credential is the same caller, built once rather than per request.</summary>
public class GatewayCallersTests
{
    private static readonly PolicyEvaluator Evaluator = new(PolicyDocument.Parse("""{ "version": "1", "default": "deny", "tools": {} }"""));

    [Test]
    public void TheTrustedGrant_IsOneCaller_ForEveryRequestWithoutACredential()
    {
        using var callers = new GatewayCallers(new PolicyLayerGatewayOptions { TrustedGrant = "local" }, Evaluator);

        var first = callers.Resolve(new DefaultHttpContext());
        var second = callers.Resolve(new DefaultHttpContext());

        first.Should().NotBeNull();
        first!.GrantId.Should().Be("local");
        first.Owner.Should().Be("trusted:local");
        second.Should().BeSameAs(first);
    }

    [Test]
    public async Task AGrantToken_IsOneCaller_ForEveryRequestThatSendsIt_AndAnotherTokenIsAnother()
    {
        var grants = Path.Combine(Path.GetTempPath(), $"grants-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(grants, $$"""{"grants":[{"token_sha256":"{{GrantTokens.Hash("token-a")}}","grant":"team-a"},{"token_sha256":"{{GrantTokens.Hash("token-b")}}","grant":"team-b"}]}""");
        try
        {
            using var callers = new GatewayCallers(new PolicyLayerGatewayOptions { GrantsFile = grants }, Evaluator);

            var a1 = callers.Resolve(WithBearer("token-a"));
            var a2 = callers.Resolve(WithBearer("token-a"));
            var b = callers.Resolve(WithBearer("token-b"));

            a1.Should().NotBeNull();
            a1!.GrantId.Should().Be("team-a");
            a2.Should().BeSameAs(a1);
            b!.GrantId.Should().Be("team-b");
            b.Owner.Should().NotBe(a1.Owner);
            callers.Resolve(WithBearer("token-c")).Should().BeNull("an unknown token is no caller");
        }
        finally
        {
            File.Delete(grants);
        }
    }

    private static DefaultHttpContext WithBearer(string token)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Authorization = "Bearer " + token;
        return context;
    }
}
