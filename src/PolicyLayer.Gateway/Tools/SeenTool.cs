namespace PolicyLayer.Gateway;

/// <summary>A tool the client was sent in a tools/list answer, and whether the policy let it be listed then.</summary>
internal readonly record struct SeenTool(ToolDescriptor Tool, bool Listed);
