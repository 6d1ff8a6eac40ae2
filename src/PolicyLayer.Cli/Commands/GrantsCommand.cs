using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using PolicyLayer.Cli.Common;
using PolicyLayer.Gateway;

namespace PolicyLayer.Cli.Commands;

/// <summary>
/// <c>policylayer grants add --file grants.json --grant ID [--policy FILE] [--user NAME]</c>: makes a new bearer token for
/// the HTTP gateway, stores only its SHA-256 in the grants file (<c>proxy --listen --grants</c>), and prints the token once.
/// </summary>
internal static class GrantsCommand
{
    public static Command Create()
    {
        var file = new Option<FileInfo>("--file") { Description = "The grants file; created when it does not exist.", Required = true };
        var grant = new Option<string>("--grant") { Description = "The grant id the token's calls count under.", Required = true };
        var policy = new Option<string?>("--policy") { Description = "A policy file of the grant's own (relative to the grants file); default: the proxy's --policy." };
        var user = new Option<string?>("--user") { Description = "The user the token stands for (the user scope)." };
        var add = new Command("add", """
            Make a new bearer token for a grant: its SHA-256 goes into the grants file, the token itself is printed once
            on stdout and kept nowhere. Clients send it as 'Authorization: Bearer <token>'.
            Exit codes: 0 added; 2 bad usage or a grants file that cannot be read or written.
            """)
        {
            file, grant, policy, user,
        };
        CliApp.SetAction(add, async (result, cancellationToken) =>
        {
            var path = result.GetValue(file)!.FullName;
            var grantId = result.GetValue(grant)!;
            if (grantId.Length == 0)
            {
                await Console.Error.WriteLineAsync("policylayer grants add: --grant must not be empty.").ConfigureAwait(false);
                return ExitCodes.UsageOrIo;
            }

            JsonObject document;
            try
            {
                document = File.Exists(path)
                    ? JsonNode.Parse(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false)) as JsonObject ?? throw new JsonException("it is not a JSON object.")
                    : new JsonObject { ["grants"] = new JsonArray() };
            }
            catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"policylayer grants add: cannot read {path}: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.UsageOrIo;
            }

            if (document["grants"] is not JsonArray grants)
            {
                await Console.Error.WriteLineAsync($"policylayer grants add: {path} has no \"grants\" array.").ConfigureAwait(false);
                return ExitCodes.UsageOrIo;
            }

            var token = "pl_" + Base64Url(RandomNumberGenerator.GetBytes(32));
            var entry = new JsonObject { ["token_sha256"] = GrantTokens.Hash(token), ["grant"] = grantId };
            if (result.GetValue(user) is { Length: > 0 } userId)
            {
                entry["user"] = userId;
            }

            if (result.GetValue(policy) is { Length: > 0 } policyPath)
            {
                entry["policy"] = policyPath;
            }

            grants.Add((JsonNode)entry);
            try
            {
                await File.WriteAllTextAsync(path, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"policylayer grants add: cannot write {path}: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.UsageOrIo;
            }

            await Console.Out.WriteLineAsync(token).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return new Command("grants", "Manage the grant tokens of the HTTP gateway (proxy --listen --grants FILE).") { add };
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
