using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace HttpServer;

/// <summary>
/// The sample's own token issuer: HMAC-SHA256 JWTs signed with a local key, so the demo needs no identity provider.
/// A real server validates tokens from its identity provider instead (Authority and Audience on JwtBearer).
/// </summary>
public static class DemoTokens
{
    public const string Issuer = "policylayer-http-sample";
    public const string Audience = "policylayer-http-sample-mcp";

    /// <summary>The claim that carries the grant; the middleware's <c>GrantClaimType</c> default.</summary>
    public const string GrantClaim = "policylayer_grant";

    // For the demo only: anyone who reads this file can sign tokens. Pass --jwt-key (32+ characters) to use your own.
    private const string DemoKey = "policylayer-http-sample-demo-signing-key";

    public static SymmetricSecurityKey SigningKey(string? configured)
    {
        var key = string.IsNullOrEmpty(configured) ? DemoKey : configured;
        if (Encoding.UTF8.GetByteCount(key) < 32)
        {
            throw new ArgumentException("--jwt-key must be at least 32 bytes long: HMAC-SHA256 keys shorter than the hash are refused.");
        }

        return new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key));
    }

    public static TokenValidationParameters ValidationParameters(SymmetricSecurityKey key) => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = key,
        NameClaimType = "sub",
    };

    /// <summary>The claim that makes a person an approver in the approvals inbox (<c>--role approver</c>).</summary>
    public const string RoleClaim = "role";

    /// <summary>A token for <paramref name="user"/> acting with <paramref name="grant"/>, valid for <paramref name="lifetime"/>, with <paramref name="role"/> if given.</summary>
    public static string Issue(SymmetricSecurityKey key, string user, string grant, TimeSpan lifetime, TimeProvider time, string? role = null)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var claims = new Dictionary<string, object> { ["sub"] = user, [GrantClaim] = grant };
        if (role is not null)
        {
            claims[RoleClaim] = role;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
    }
}
