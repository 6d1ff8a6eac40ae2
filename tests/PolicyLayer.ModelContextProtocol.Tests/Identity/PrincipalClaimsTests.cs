using System.Security.Claims;
using PolicyLayer.Mcp;

namespace PolicyLayer.ModelContextProtocol.Tests.Identity;

public sealed class PrincipalClaimsTests
{
    [Test]
    public void Claims_ReadAsCallerIdentityGroupsThem_TypesOrdinal_ValuesInOrder_RepeatsOnce()
    {
        var principal = Principal(("sub", "alice"), ("roles", "admin"), ("roles", "contractor"), ("roles", "admin"), ("Roles", "other"));

        var claims = new PrincipalClaims(principal);

        claims.Should().BeEquivalentTo(CallerIdentity.GroupClaims(principal.Claims.Select(c => new KeyValuePair<string, string>(c.Type, c.Value))));
        claims["roles"].Should().Equal("admin", "contractor");
        claims["Roles"].Should().Equal("other");
        claims.TryGetValue("email", out _).Should().BeFalse();
        claims.Count.Should().Be(3);
    }

    [Test]
    public void Claims_AreGroupedOnTheFirstRead_Once()
    {
        var principal = new CountingPrincipal(new ClaimsIdentity([new Claim("roles", "admin")], "Bearer"));

        var claims = new PrincipalClaims(principal);
        principal.Enumerations.Should().Be(0);

        claims.ContainsKey("roles").Should().BeTrue();
        claims["roles"].Should().Equal("admin");
        claims.Keys.Should().Equal("roles");
        principal.Enumerations.Should().Be(1);
    }

    private static ClaimsPrincipal Principal(params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), "Bearer"));

    private sealed class CountingPrincipal(ClaimsIdentity identity) : ClaimsPrincipal(identity)
    {
        public int Enumerations { get; private set; }

        public override IEnumerable<Claim> Claims
        {
            get
            {
                Enumerations++;
                return base.Claims;
            }
        }
    }
}
