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
