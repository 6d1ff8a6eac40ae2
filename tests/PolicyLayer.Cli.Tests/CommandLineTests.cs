using System.CommandLine;
using System.Text.Json;
using PolicyLayer.Cli.Common;
using PolicyLayer.Cli.Proxy;

namespace PolicyLayer.Cli.Tests;

/// <summary>
/// The command line as other tools hand it over: a server command without <c>--</c> (the MCP Inspector and some
/// clients drop it), arguments that start with <c>@</c> (never response files), and the policy schema for editors.
/// </summary>
[Category(Policylayer.ProcessLevel)]
public class CommandLineTests
{
    private string _work = null!;

    [SetUp]
    public void CreateWorkspace() => _work = Directory.CreateTempSubdirectory("policylayer-cli-").FullName;

    [TearDown]
    public void DeleteWorkspace() => Directory.Delete(_work, recursive: true);

    [Test]
    public void SeparateServerCommand_WithoutDoubleDash_EverythingFromTheFirstPositionalIsTheServers()
    {
        var proxy = ProxyCommand.Create();

        var args = ServerCommandLine.SeparateServerCommand(proxy, ["proxy", "--policy", "p.json", "--grant", "g", "node", "server.js", "--shadow", "--policy", "other.json"]);

        args.Should().Equal("proxy", "--policy", "p.json", "--grant", "g", "--", "node", "server.js", "--shadow", "--policy", "other.json");
        var parsed = new RootCommand { proxy }.Parse(args.ToArray());
        parsed.Errors.Should().BeEmpty();
        parsed.GetValue<string[]>("command").Should().Equal("node", "server.js", "--shadow", "--policy", "other.json");
        parsed.GetValue<FileInfo>("--policy")!.Name.Should().Be("p.json", "the server's own --policy is not the proxy's");
        parsed.GetValue<bool>("--shadow").Should().BeFalse("the server's --shadow is not the proxy's");
    }

    [TestCase("proxy --shadow --policy p.json node", 4)]
    [TestCase("proxy --shadow true --policy p.json node", 5)]
    [TestCase("proxy --watch --watch-interval 2 --policy p.json npx -y server", 6)]
    [TestCase("proxy --policy=p.json node", 2)]
    public void SeparateServerCommand_FlagsAndOptionValues_AreTheProxys_TheFirstOtherWordStartsTheServer(string commandLine, int serverAt)
    {
        var args = commandLine.Split(' ');

        var separated = ServerCommandLine.SeparateServerCommand(ProxyCommand.Create(), args);

        separated.Should().Equal([.. args.Take(serverAt), "--", .. args.Skip(serverAt)]);
    }

    [TestCase("proxy --policy p.json -- node server.js")]
    [TestCase("validate p.json node")]
    [TestCase("proxy --policy p.json")]
    public void SeparateServerCommand_WithDoubleDashAnotherCommandOrNoServer_LeavesTheArgumentsAsTheyAre(string commandLine)
    {
        var args = commandLine.Split(' ');

        ServerCommandLine.SeparateServerCommand(ProxyCommand.Create(), args).Should().Equal(args);
    }

    [TestCase("", true)]
    [TestCase("--help", true)]
    [TestCase("proxy -h", true)]
    [TestCase("validate -?", true)]
    [TestCase("--version", true)]
    [TestCase("[suggest:3] pol", true)]
    [TestCase("proxy --policy p.json -- node server.js --help", true)]
    [TestCase("proxy --policy p.json -- node server.js", false)]
    [TestCase("validate p.json", false)]
    [TestCase("nosuch", false)]
    public void NeedsRootOptions_OnlyWhenHelpVersionADirectiveOrNothingIsAsked(string commandLine, bool needed)
    {
        var args = commandLine.Length == 0 ? [] : commandLine.Split(' ');

        CliApp.NeedsRootOptions(args).Should().Be(needed);
    }

    [TestCase("nosuch")]
    [TestCase("validate")]
    [TestCase("validate a.json b.json")]
    [TestCase("validate --bogus x")]
    [TestCase("proxy")]
    [TestCase("proxy --policy")]
    [TestCase("proxy --policy p.json --watch --shadow --listen http://127.0.0.1:0/mcp -- node server.js -v")]
    [TestCase("proxy --policy p.json --max-message-bytes lots -- node")]
    [TestCase("schema extra")]
    [TestCase("explain --policy p.json --tool t --args {}")]
    [TestCase("audit summary log.jsonl --json")]
    [TestCase("grants")]
    [TestCase("proxy validate p.json")]
    [TestCase("validate proxy")]
    [TestCase("Proxy --policy p.json -- node")]
    public void CommandLines_WithoutHelpOrVersion_ParseTheSameUnderThePlainRootAsUnderRootCommand(string commandLine)
    {
        var args = commandLine.Split(' ');
        var configuration = new ParserConfiguration { ResponseFileTokenReplacer = null };
        var (fullRoot, fullProxy) = CommandTree.Create(withRootOptions: true);
        var (plainRoot, plainProxy) = CommandTree.Create(withRootOptions: false);

        var full = fullRoot.Parse(ServerCommandLine.SeparateServerCommand(fullProxy, args), configuration);
        var plain = plainRoot.Parse(ServerCommandLine.SeparateServerCommand(plainProxy, args), configuration);

        plain.Errors.Select(e => e.Message).Should().Equal(full.Errors.Select(e => e.Message));
        // The roots' own names differ in a test host (RootCommand takes the executable's name); the commands' do not.
        (plain.CommandResult.Command == plainRoot).Should().Be(full.CommandResult.Command == fullRoot);
        if (full.CommandResult.Command != fullRoot)
        {
            plain.CommandResult.Command.Name.Should().Be(full.CommandResult.Command.Name);
        }

        plain.UnmatchedTokens.Should().Equal(full.UnmatchedTokens);
        plain.Tokens.Select(t => $"{t.Type}:{t.Value}").Should().Equal(full.Tokens.Select(t => $"{t.Type}:{t.Value}"));
        (plain.Action is null).Should().Be(full.Action is null);

        // What the tool itself parses under: only the command named first (or all of them when none is named).
        var (ownRoot, ownProxy) = CommandTree.ForCommandLine(args);
        var own = ownRoot.Parse(ownProxy is null ? args : ServerCommandLine.SeparateServerCommand(ownProxy, args), configuration);
        own.Errors.Select(e => e.Message).Should().Equal(full.Errors.Select(e => e.Message));
        (own.CommandResult.Command == ownRoot).Should().Be(full.CommandResult.Command == fullRoot);
        own.CommandResult.Command.Name.Should().Be(full.CommandResult.Command == fullRoot ? ownRoot.Name : full.CommandResult.Command.Name);
        own.UnmatchedTokens.Should().Equal(full.UnmatchedTokens);
        own.Tokens.Select(t => $"{t.Type}:{t.Value}").Should().Equal(full.Tokens.Select(t => $"{t.Type}:{t.Value}"));
        (own.Action is null).Should().Be(full.Action is null);
    }

    [Test]
    public void CommandLine_NamingOneCommand_BuildsOnlyThatCommand_AndEveryCommandIsFoundByItsName()
    {
        foreach (var (name, create) in CommandTree.Commands)
        {
            create().Name.Should().Be(name);
            var (root, proxy) = CommandTree.ForCommandLine([name, "x"]);
            root.Subcommands.Select(c => c.Name).Should().Equal(name);
            (proxy is not null).Should().Be(name == "proxy");
        }

        CommandTree.ForCommandLine(["nosuch"]).Root.Subcommands.Should().HaveCount(CommandTree.Commands.Length);
        CommandTree.ForCommandLine(["validate", "--help"]).Root.Should().BeOfType<RootCommand>().Which.Subcommands.Should().HaveCount(CommandTree.Commands.Length);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Proxy_ServerArguments_ArePassedVerbatim_WithOrWithoutDoubleDash_AndAtSignsAreNotResponseFiles(bool doubleDash)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            Assert.Ignore("The server is /bin/sh.");
        }

        var policy = WriteAllowAll();
        var received = Path.Combine(_work, "received.txt");
        var responseFile = Path.Combine(_work, "args.rsp");
        File.WriteAllText(responseFile, "--expanded-from-the-file");
        string[] server = ["/bin/sh", "-c", $"printf '%s\\n' \"$@\" > '{received}'; exit 5", "sh", "--shadow", "--policy", "x.json", "@" + responseFile];

        var result = await Policylayer.RunAsync(["proxy", "--policy", policy, .. doubleDash ? ["--"] : Array.Empty<string>(), .. server]);

        result.ExitCode.Should().Be(5, "the proxy ends with the server's exit code: " + result);
        File.ReadAllLines(received).Should().Equal("--shadow", "--policy", "x.json", "@" + responseFile);
    }

    [Test]
    public async Task Validate_AnArgumentStartingWithAt_IsAFileName_NotAResponseFile()
    {
        var list = Path.Combine(_work, "files.rsp");
        File.WriteAllText(list, WriteAllowAll());

        var result = await Policylayer.RunAsync("validate", "@" + list);

        result.ExitCode.Should().Be(2, "'@" + list + "' is a file that does not exist, not a list of files: " + result);
        result.Err.Should().Contain("@" + list);
    }

    [Test]
    public async Task Schema_PrintsThePolicyJsonSchema()
    {
        var result = await Policylayer.RunAsync("schema");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Be(PolicyDocument.GetJsonSchema());
        using var schema = JsonDocument.Parse(result.Out);
        schema.RootElement.GetProperty("$schema").GetString().Should().Contain("json-schema.org");
    }

    [Test]
    public void Schema_ShipsNextToTheTool()
    {
        File.ReadAllText(Path.Combine(Path.GetDirectoryName(Policylayer.Dll)!, "policy.schema.json")).Should().Be(PolicyDocument.GetJsonSchema());
    }

    [Test]
    public async Task Init_WithOutput_NamesTheSchemaBesideThePolicyAndWritesIt()
    {
        var output = Path.Combine(_work, "policy.json");

        var result = await Policylayer.RunAsync("init", "-o", output, Policylayer.Fixture("kestra-tools.json"));

        result.ExitCode.Should().Be(0, result.ToString());
        using var policy = JsonDocument.Parse(File.ReadAllText(output));
        var reference = policy.RootElement.GetProperty("$schema").GetString()!;
        reference.Should().Be("./policy.schema.json");
        File.ReadAllText(Path.Combine(_work, reference)).Should().Be(PolicyDocument.GetJsonSchema(), "the $schema resolves, offline, to the schema");
        PolicyDocument.Load(output).Should().NotBeNull();
    }

    [Test]
    public async Task Init_ASchemaFileThatDiffers_IsKeptWithAWarning_AndReplacedWithForce()
    {
        var output = Path.Combine(_work, "policy.json");
        var schema = Path.Combine(_work, "policy.schema.json");
        File.WriteAllText(schema, "{ \"mine\": true }");

        var kept = await Policylayer.RunAsync("init", "-o", output, Policylayer.Fixture("kestra-tools.json"));

        kept.ExitCode.Should().Be(0, kept.ToString());
        File.ReadAllText(schema).Should().Be("{ \"mine\": true }");
        kept.Err.Should().Contain(schema).And.Contain("--force");

        var forced = await Policylayer.RunAsync("init", "-o", output, "--force", Policylayer.Fixture("kestra-tools.json"));

        forced.ExitCode.Should().Be(0, forced.ToString());
        File.ReadAllText(schema).Should().Be(PolicyDocument.GetJsonSchema());
    }

    [Test]
    public async Task Init_ToStdout_NamesTheSchemaAndSaysHowToWriteIt()
    {
        var result = await Policylayer.RunAsync("init", Policylayer.Fixture("kestra-tools.json"));

        result.ExitCode.Should().Be(0, result.ToString());
        using var policy = JsonDocument.Parse(result.Out);
        policy.RootElement.GetProperty("$schema").GetString().Should().Be("./policy.schema.json");
        result.Err.Should().Contain("policylayer schema > policy.schema.json");
    }

    private string WriteAllowAll()
    {
        var path = Path.Combine(_work, "allow.policy.json");
        File.WriteAllText(path, """{ "version": "1", "default": "allow" }""");
        return path;
    }
}
