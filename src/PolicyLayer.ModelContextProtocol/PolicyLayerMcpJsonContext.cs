using System.Text.Json;
using System.Text.Json.Serialization;

namespace PolicyLayer.Mcp;

[JsonSerializable(typeof(IDictionary<string, JsonElement>))]
internal sealed partial class PolicyLayerMcpJsonContext : JsonSerializerContext;
