using NUnit.Framework;

namespace PolicyLayer.TestUtils;

/// <summary>Finds a program a test needs (a real component, not a fake): under <c>CI=true</c> a missing one fails the test, else it is ignored.</summary>
public static class ExternalTools
{
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The path of <paramref name="name"/> on PATH (or /usr/bin, /usr/local/bin), or <see langword="null"/>.</summary>
    public static string? Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin").Append("/usr/local/bin"))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The path of <paramref name="name"/>; when it is missing the test fails under CI and is ignored elsewhere, with <paramref name="installHint"/>.</summary>
    public static string Require(string name, string installHint)
    {
        if (Find(name) is { } found)
        {
            return found;
        }

        var message = $"{name} was not found on PATH. {installHint}";
        if (IsCi)
        {
            Assert.Fail(message);
        }

        Assert.Ignore(message);
        return null!;
    }

    /// <summary>A free TCP port on loopback (free when asked; a test binds it soon after).</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
