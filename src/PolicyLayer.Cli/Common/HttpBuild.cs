#if POLICYLAYER_STDIO_ONLY
using System.Runtime.InteropServices;

namespace PolicyLayer.Cli.Common;

/// <summary>
/// The native binary comes as two files (scripts/publish-native.sh): <c>policylayer</c>, every command without the web
/// host, and <c>policylayer-http</c> beside it, the same program with ASP.NET Core for the proxy's HTTP front, HTTP
/// upstreams and approvals inbox. MCP clients start a stdio proxy at every launch, and a binary without the web host's
/// thousands of types starts in less time (docs/benchmarks.md, "Start-up, session 5"). When a command line asks for any of
/// the HTTP options, <c>policylayer</c> replaces itself with <c>policylayer-http</c> (the same process, arguments and
/// standard streams), which then does everything, checking the options included.
/// </summary>
internal static class HttpBuild
{
    /// <summary>The file name of the build with the web host, beside this one.</summary>
    public const string FileName = "policylayer-http";

    /// <summary>
    /// Runs <see cref="FileName"/> in this process with this command line. Returns only when it cannot, after saying why
    /// on <paramref name="error"/>, with the exit code of a server that cannot be started.
    /// </summary>
    public static async Task<int> ExecAsync(TextWriter error)
    {
        var path = Path.Combine(AppContext.BaseDirectory, FileName);
        var args = Environment.GetCommandLineArgs();
        var argv = new IntPtr[args.Length + 1];
        try
        {
            argv[0] = Marshal.StringToCoTaskMemUTF8(path);
            for (var i = 1; i < args.Length; i++)
            {
                argv[i] = Marshal.StringToCoTaskMemUTF8(args[i]);
            }

            // Returns only on failure (execv replaces the process otherwise).
            _ = Execv(argv[0], argv);
            var reason = Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
            await error.WriteLineAsync($"policylayer proxy: the HTTP options need {path}, the build with the web host, which cannot be run ({reason}); keep it beside policylayer, or use the .NET tool.").ConfigureAwait(false);
            return Proxy.ProxyCommand.CannotStart;
        }
        finally
        {
            foreach (var arg in argv)
            {
                Marshal.FreeCoTaskMem(arg);
            }
        }
    }

    [DllImport("libc", EntryPoint = "execv", SetLastError = true)]
    private static extern int Execv(IntPtr path, IntPtr[] argv);
}
#endif
