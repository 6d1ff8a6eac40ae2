using System.ComponentModel;
using System.Diagnostics;

namespace PolicyLayer.Gateway;

/// <summary>A stdio server started once per session; its standard error is the gateway's.</summary>
internal sealed class ChildProcessUpstream(string command, string[] arguments) : McpUpstream
{
    /// <summary>How long a child has to exit after its input is closed before it is killed.</summary>
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(1.5);

    public override string Description => command;

    internal override ValueTask<UpstreamConnection> ConnectAsync(int maxMessageBytes, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(command)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new IOException($"Cannot start '{command}': {ex.Message}", ex);
        }

        return ValueTask.FromResult<UpstreamConnection>(new Connection(process, maxMessageBytes));
    }

    private sealed class Connection(Process process, int maxMessageBytes) : UpstreamConnection
    {
        // The server's messages are not bounded by the client's limit (a tools/list can be large), but by a generous one.
        public override IMcpMessageChannel Channel { get; } =
            McpMessageChannels.Stdio(process.StandardOutput.BaseStream, process.StandardInput.BaseStream, Math.Max(maxMessageBytes, 64 * 1024 * 1024));

        public override async ValueTask DisposeAsync()
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException)
            {
                // Already closed by the gateway, or the child is gone.
            }

            try
            {
                using var grace = new CancellationTokenSource(ExitGrace);
                await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (Exception ex) when (ex is InvalidOperationException or Win32Exception)
                {
                    // It exited meanwhile.
                }
            }
            finally
            {
                process.Dispose();
            }
        }
    }
}
