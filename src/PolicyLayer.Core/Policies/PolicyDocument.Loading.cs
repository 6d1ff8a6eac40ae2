using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using PolicyLayer.Policies;

namespace PolicyLayer;

public sealed partial class PolicyDocument
{
    // One reader per schema version, side by side: a new version is a new reader, never an edit of an old one.
    private static readonly FrozenDictionary<string, IPolicyReader> Readers =
        new IPolicyReader[] { new PolicyReaderV1() }.ToFrozenDictionary(r => r.Version, StringComparer.Ordinal);

    // The size of a stream that was too long to read to its end and cannot tell its length.
    private const long UnknownSize = -1;

    /// <summary>The schema versions this library reads.</summary>
    public static IReadOnlyList<string> SupportedVersions { get; } = [.. Readers.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The largest document accepted, in bytes (4 MiB).</summary>
    public static int MaxDocumentBytes => PolicyLimits.MaxBytes;

    /// <summary>The deepest nesting of objects and arrays accepted (64).</summary>
    public static int MaxDocumentDepth => PolicyLimits.MaxDepth;

    /// <summary>Parses a policy document from JSON text.</summary>
    /// <param name="json">The document.</param>
    /// <param name="sourcePath">The file it came from, for error messages; optional.</param>
    /// <exception cref="PolicyValidationException">The document is invalid; every error is reported.</exception>
    public static PolicyDocument Parse(string json, string? sourcePath = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Parse(Encoding.UTF8.GetBytes(json), sourcePath);
    }

    /// <summary>Parses a policy document from UTF-8 JSON.</summary>
    /// <param name="utf8Json">The document's bytes; a UTF-8 byte order mark is skipped.</param>
    /// <param name="sourcePath">The file it came from, for error messages; optional.</param>
    /// <exception cref="PolicyValidationException">The document is invalid; every error is reported.</exception>
    public static PolicyDocument Parse(ReadOnlySpan<byte> utf8Json, string? sourcePath = null) => Parse(utf8Json, sourcePath, null);

    /// <param name="utf8Json">The document's bytes, or its first bytes when it is larger than accepted.</param>
    /// <param name="sourcePath">The file it came from, for error messages; optional.</param>
    /// <param name="totalBytes">The whole document's size when only its head was read; null when <paramref name="utf8Json"/> is all of it.</param>
    private static PolicyDocument Parse(ReadOnlySpan<byte> utf8Json, string? sourcePath, long? totalBytes)
    {
        var hasBom = utf8Json.StartsWith("\uFEFF"u8);
        if (hasBom)
        {
            utf8Json = utf8Json[3..];
        }

        var errors = new PolicyErrorList();
        var size = totalBytes is { } total ? total - (hasBom ? 3 : 0) : utf8Json.Length;
        if (size > PolicyLimits.MaxBytes || totalBytes == UnknownSize)
        {
            var what = totalBytes == UnknownSize ? $"more than {PolicyLimits.MaxBytes} bytes" : $"{size} bytes";
            errors.Add(new PolicyValidationError("$", 1, 1, $"The document is {what}; the largest accepted is {PolicyLimits.MaxBytes} bytes (4 MiB)."));
            throw new PolicyValidationException(errors.Errors, sourcePath);
        }

        // A pooled copy: the compiled policy keeps nothing of these bytes, so they go back to the pool once it is built.
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(utf8Json.Length);
        CompiledPolicy? compiled;
        try
        {
            utf8Json.CopyTo(rented);
            compiled = Compile(rented.AsMemory(0, utf8Json.Length), ref errors);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        if (compiled is null)
        {
            throw new PolicyValidationException(errors.Sorted(), sourcePath);
        }

        return new PolicyDocument(compiled, sourcePath);
    }

    /// <summary>Loads a policy document from a file.</summary>
    /// <param name="path">The file's path.</param>
    /// <exception cref="PolicyValidationException">The document is invalid; every error is reported.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static PolicyDocument Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = OpenForRead(path);
        return Parse(ReadAll(stream), path, stream.Length);
    }

    /// <summary>Loads a policy document from a file without blocking a thread on I/O.</summary>
    /// <param name="path">The file's path.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="PolicyValidationException">The document is invalid; every error is reported.</exception>
    public static async Task<PolicyDocument> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var stream = OpenForRead(path);
        await using (stream.ConfigureAwait(false))
        {
            return await LoadAsync(stream, path, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Loads a policy document from a stream of UTF-8 JSON.</summary>
    /// <param name="stream">The stream; read to its end, not closed.</param>
    /// <param name="sourcePath">The file it came from, for error messages; optional.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="PolicyValidationException">The document is invalid; every error is reported.</exception>
    public static async Task<PolicyDocument> LoadAsync(Stream stream, string? sourcePath = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var start = stream.CanSeek ? stream.Position : 0;
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        long? total = null;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > PolicyLimits.MaxBytes + 3)
            {
                // Parse reports the size; no need to read a huge stream to its end.
                total = stream.CanSeek ? stream.Length - start : UnknownSize;
                break;
            }
        }

        return Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), sourcePath, total);
    }

    /// <summary>The JSON Schema of the policy format, for editors and tools.</summary>
    public static string GetJsonSchema()
    {
        using var stream = typeof(PolicyDocument).Assembly.GetManifestResourceStream("PolicyLayer.policy.schema.json")
            ?? throw new InvalidOperationException("The policy JSON Schema is missing from the assembly.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// The compiled policy: the fast read's (one <see cref="Utf8JsonReader"/> pass, see <see cref="FastPolicyReader"/>)
    /// when it accepts the document, else the full read's (<see cref="CompileFull"/>), which decides and reports.
    /// </summary>
    /// <param name="bytes">The document.</param>
    /// <param name="errors">Where the full read's errors go; replaced by a fresh list when a duplicate key sends it to the scan.</param>
    private static CompiledPolicy? Compile(ReadOnlyMemory<byte> bytes, ref PolicyErrorList errors)
    {
        var fast = FastPolicyReader.TryRead(bytes.Span);
        FastReadObserver?.Invoke(bytes, fast);
        return fast ?? CompileFull(bytes, ref errors);
    }

    /// <summary>
    /// Called on every load with the document and what the fast reader made of it (null when it declined), before the
    /// full read runs: the tests set it to hold every fast read to the full read's result.
    /// </summary>
    internal static Action<ReadOnlyMemory<byte>, CompiledPolicy?>? FastReadObserver { get; set; }

    /// <summary>
    /// The full read, through a parsed <see cref="JsonDocument"/>: at parser speed when the document is well formed (no
    /// duplicate keys, no lone surrogate escapes), positions then found only if an error needs one and duplicate keys
    /// noticed by the reader as it reads each object. Otherwise the position-tracking scan reports what is wrong, with
    /// line and column, and the document is parsed and read again after it (duplicate keys kept, so that every other
    /// error is found too).
    /// </summary>
    /// <param name="bytes">The document.</param>
    /// <param name="errors">Where the errors go; replaced by a fresh list when a duplicate key sends the read to the scan.</param>
    internal static CompiledPolicy? CompileFull(ReadOnlyMemory<byte> bytes, ref PolicyErrorList errors)
    {
        if (!MayHoldLoneSurrogate(bytes.Span) && TryParse(bytes, allowDuplicateKeys: true) is { } document)
        {
            using (document)
            {
                errors.MapOnDemand(bytes);
                var compiled = Read(document.RootElement, bytes.Span, errors, out var duplicates);
                if (compiled is null && duplicates == DuplicateKeys.Outcome.None)
                {
                    // An invalid document: the reader may have stopped short of the object with a key twice.
                    duplicates = DuplicateKeys.Find(document.RootElement, bytes.Span);
                }

                if (duplicates == DuplicateKeys.Outcome.Unsure)
                {
                    // A key spelled with escapes may equal another: the parser's own check decides.
                    using var strict = TryParse(bytes, allowDuplicateKeys: false);
                    duplicates = strict is null ? DuplicateKeys.Outcome.Found : DuplicateKeys.Outcome.None;
                }

                if (duplicates == DuplicateKeys.Outcome.None)
                {
                    return compiled;
                }
            }

            // A duplicate key: the scan below says where, beside every other error.
            errors = new PolicyErrorList();
        }

        var map = JsonSourceMap.Scan(bytes, errors);
        if (map is null)
        {
            return null;
        }

        errors.Map = map;
        using var scanned = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = PolicyLimits.MaxDepth });
        return Read(scanned.RootElement, bytes.Span, errors, out _);
    }

    private static CompiledPolicy? Read(JsonElement root, ReadOnlySpan<byte> utf8, PolicyErrorList errors, out DuplicateKeys.Outcome duplicates)
    {
        duplicates = DuplicateKeys.Outcome.None;
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors.AtValue("$", $"Expected a policy object such as {{ \"version\": \"1\", \"tools\": {{ }} }}, found {PolicyReaderV1.Describe(root)}.");
            return null;
        }

        var supported = string.Join(", ", SupportedVersions.Select(v => $"\"{v}\""));
        if (!root.TryGetProperty("version", out var version))
        {
            errors.AtValue("$", $"Missing \"version\". Supported versions: {supported}.");
            return null;
        }

        if (version.ValueKind != JsonValueKind.String)
        {
            errors.AtValue("$.version", $"Expected the version as a string, such as \"1\", found {PolicyReaderV1.Describe(version)}. Supported versions: {supported}.");
            return null;
        }

        if (!Readers.TryGetValue(version.GetString()!, out var reader))
        {
            errors.AtValue("$.version", $"Unknown version \"{version.GetString()}\". Supported versions: {supported}.");
            return null;
        }

        var compiled = reader.Read(root, errors, out duplicates);
        if (errors.Count > 0 || compiled is null)
        {
            return null;
        }

        compiled.Revision = compiled.DeclaredRevision ?? ContentRevision.Of(root, utf8);
        return compiled;
    }

    /// <summary>The document, or null when it is malformed, too deep or (unless allowed) has a key twice in one object.</summary>
    private static JsonDocument? TryParse(ReadOnlyMemory<byte> bytes, bool allowDuplicateKeys)
    {
        try
        {
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = PolicyLimits.MaxDepth, AllowDuplicateProperties = allowDuplicateKeys });
        }
        catch (JsonException)
        {
            // The scan that follows says what and where.
            return null;
        }
    }

    /// <summary>Whether the text has a <c>\uD800</c>-<c>\uDFFF</c> escape, which the parser accepts but no .NET string can hold alone.</summary>
    internal static bool MayHoldLoneSurrogate(ReadOnlySpan<byte> utf8)
    {
        for (var at = utf8.IndexOf("\\u"u8); at >= 0; at = utf8.IndexOf("\\u"u8))
        {
            utf8 = utf8[(at + 2)..];
            if (utf8.Length >= 2 && utf8[0] is (byte)'d' or (byte)'D' && utf8[1] is (byte)'8' or (byte)'9' or (byte)'a' or (byte)'A' or (byte)'b' or (byte)'B'
                or (byte)'c' or (byte)'C' or (byte)'d' or (byte)'D' or (byte)'e' or (byte)'E' or (byte)'f' or (byte)'F')
            {
                return true;
            }
        }

        return false;
    }

    private static FileStream OpenForRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096, useAsync: true);

    private static byte[] ReadAll(FileStream stream)
    {
        if (stream.Length > PolicyLimits.MaxBytes + 3)
        {
            var head = new byte[PolicyLimits.MaxBytes + 4];
            stream.ReadExactly(head);
            return head;
        }

        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}
