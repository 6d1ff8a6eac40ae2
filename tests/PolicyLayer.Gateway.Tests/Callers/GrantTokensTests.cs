using Microsoft.Extensions.Time.Testing;

namespace PolicyLayer.Gateway.Tests.Callers;

/// <summary>A grant token presented again is found without hashing it again; nothing but the file's tokens is kept, and only a bounded number.</summary>
public class GrantTokensTests
{
    private static readonly PolicyEvaluator Evaluator = new(PolicyDocument.Parse("""{ "version": "1", "default": "deny", "tools": {} }"""));

    [Test]
    public async Task AValidToken_PresentedAgain_IsFoundWithoutHashing()
    {
        await WithGrantsAsync(tokens =>
        {
            tokens.Find("token-a")!.GrantId.Should().Be("team-a");

            var before = GC.GetAllocatedBytesForCurrentThread();
            var again = tokens.Find("token-a");
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            again!.GrantId.Should().Be("team-a");
            // Hashing it (the UTF-8 bytes, the digest, its hex) allocates; the cached lookup allocates nothing.
            allocated.Should().Be(0);
        });
    }

    [Test]
    public async Task ATokenThatDiffersFromACachedOne_IsNotTakenForIt()
    {
        await WithGrantsAsync(tokens =>
        {
            tokens.Find("token-a")!.GrantId.Should().Be("team-a");
            tokens.Find("token-b")!.GrantId.Should().Be("team-b");

            tokens.Find("token-A").Should().BeNull();
            tokens.Find("token-a ").Should().BeNull();
            tokens.Find("token-").Should().BeNull();
            tokens.Find("token-a")!.GrantId.Should().Be("team-a");
        });
    }

    [Test]
    public async Task InvalidTokens_AreNeverCached_AndTheCacheIsBounded()
    {
        await WithGrantsAsync(tokens =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                tokens.Find("guess-" + i).Should().BeNull();
            }

            tokens.CachedCount.Should().Be(0, "only the file's tokens get in, so guesses cannot fill the cache");

            tokens.Find("token-a").Should().NotBeNull();
            tokens.Find("token-b").Should().NotBeNull();
            tokens.CachedCount.Should().BeInRange(1, 2).And.BeLessThanOrEqualTo(GrantTokens.CachedTokens);
        });
    }

    [Test]
    public async Task ABearerHeader_PresentedAgain_IsResolvedWithoutAllocating_AndItsTokenIsReadAsBefore()
    {
        var path = Path.Combine(Path.GetTempPath(), $"grants-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, $$"""{"grants":[{"token_sha256":"{{GrantTokens.Hash("token-a")}}","grant":"team-a"}]}""");
        try
        {
            using var callers = new GatewayCallers(new PolicyLayerGatewayOptions { GrantsFile = path, Upstream = McpUpstream.Http(new Uri("http://127.0.0.1:1/mcp")) }, Evaluator);
            var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
            context.Request.Headers.Authorization = "Bearer token-a";
            callers.Resolve(context)!.GrantId.Should().Be("team-a");

            var before = GC.GetAllocatedBytesForCurrentThread();
            var again = callers.Resolve(context);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            again!.GrantId.Should().Be("team-a");
            // The token is read where it is in the header: no substring per request.
            allocated.Should().Be(0);

            // As before: the scheme in any case, spaces around the token ignored; anything else is no credential.
            context.Request.Headers.Authorization = "bearer   token-a  ";
            callers.Resolve(context)!.GrantId.Should().Be("team-a");
            context.Request.Headers.Authorization = "Bearer token-ab";
            callers.Resolve(context).Should().BeNull();
            context.Request.Headers.Authorization = "Bearer ";
            callers.Resolve(context).Should().BeNull();
            context.Request.Headers.Authorization = "Basic token-a";
            callers.Resolve(context).Should().BeNull();
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task WithGrantsAsync(Action<GrantTokens> test)
    {
        var path = Path.Combine(Path.GetTempPath(), $"grants-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, $$"""{"grants":[{"token_sha256":"{{GrantTokens.Hash("token-a")}}","grant":"team-a"},{"token_sha256":"{{GrantTokens.Hash("token-b")}}","grant":"team-b"}]}""");
        try
        {
            using var tokens = GrantTokens.Load(path, Evaluator, new FakeTimeProvider());
            test(tokens);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
