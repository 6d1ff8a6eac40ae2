// dotnet PolicyLayer.Redis.LoadClient.dll CONFIGURATION PREFIX SEED WORKERS CALLS
// Connects, prints "ready", waits for a line on stdin (so that several processes start their load together), runs the
// workload, and prints one line "KIND VALUE" per counter of each admitted call, then "done".
using PolicyLayer.Redis.LoadClient;
using StackExchange.Redis;

if (args.Length != 5)
{
    Console.Error.WriteLine("usage: PolicyLayer.Redis.LoadClient CONFIGURATION PREFIX SEED WORKERS CALLS");
    return 2;
}

var options = ConfigurationOptions.Parse(args[0]);
options.AbortOnConnectFail = false;
await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
var store = ConcurrentWorkload.Store(connection, args[1]);
Console.WriteLine("ready");
_ = Console.ReadLine();

var admitted = await ConcurrentWorkload.RunAsync(store, int.Parse(args[3]), int.Parse(args[4]), int.Parse(args[2]));
foreach (var (kind, value) in admitted)
{
    Console.WriteLine($"{kind} {value}");
}

Console.WriteLine("done");
return 0;
