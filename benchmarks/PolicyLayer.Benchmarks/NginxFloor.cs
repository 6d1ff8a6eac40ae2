using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PolicyLayer.Benchmarks;

/// <summary>
/// nginx (Debian's, <c>apt-get install nginx-light</c>) as a keep-alive reverse proxy in front of the benchmark's server,
/// one worker, no buffering, no access log: what a relay written in C adds to a round trip on this machine. Runs until
/// its standard input closes, then stops nginx and removes its folder.
/// </summary>
internal static class NginxFloor
{
    public static async Task<int> RunAsync(Uri upstream)
    {
        var folder = Directory.CreateTempSubdirectory("policylayer-nginx-").FullName;
        var port = FreePort();
        var config = Path.Combine(folder, "nginx.conf");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $$"""
            worker_processes 1;
            daemon off;
            master_process off;
            error_log {{folder}}/error.log warn;
            pid {{folder}}/nginx.pid;
            events { worker_connections 1024; }
            http {
              access_log off;
              client_body_temp_path {{folder}}/body;
              proxy_temp_path {{folder}}/proxy;
              upstream server { server {{upstream.Host}}:{{upstream.Port}}; keepalive 64; }
              server {
                listen 127.0.0.1:{{port}};
                location / {
                  proxy_pass http://server;
                  proxy_http_version 1.1;
                  proxy_set_header Connection "";
                  proxy_buffering off;
                  proxy_request_buffering off;
                }
              }
            }
            """));
        var nginx = File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
        using var process = Process.Start(new ProcessStartInfo(nginx) { ArgumentList = { "-c", config, "-p", folder }, UseShellExecute = false })
            ?? throw new InvalidOperationException("nginx did not start.");
        try
        {
            // Listening once a connection is accepted.
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync(IPAddress.Loopback, port);
                    break;
                }
                catch (SocketException) when (attempt < 100 && !process.HasExited)
                {
                    await Task.Delay(50);
                }
            }

            Console.Error.WriteLine($"listening on http://127.0.0.1:{port}{upstream.AbsolutePath}");
            while (await Console.In.ReadLineAsync() is not null)
            {
            }

            return 0;
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
