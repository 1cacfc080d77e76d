using System.Text.Json;

namespace Hyper.Runtime.Text;

/// <summary>
/// Reading tokenizer.json fields, with errors that name the file and what is wrong: a missing
/// or mistyped field is <see cref="InvalidDataException"/>, a component this project does not
/// implement is <see cref="NotSupportedException"/>.
/// </summary>
internal static class TokenizerJson
{
    /// <summary>The <c>type</c> of a component object.</summary>
    public static string Type(JsonElement n, string what, string source)
    {
        if (n.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{source}: {what} is a JSON {Kind(n)}, not an object");
        return String(n, "type", what, source);
    }

    /// <summary>A required string field.</summary>
    public static string String(JsonElement n, string name, string what, string source)
    {
        if (!n.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{source}: {what} has no string '{name}'");
        return v.GetString()!;
    }

    /// <summary>An optional boolean field (absent or null: <paramref name="fallback"/>).</summary>
    public static bool Bool(JsonElement n, string name, bool fallback) =>
        n.ValueKind == JsonValueKind.Object && n.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean()
            : fallback;

    /// <summary>An optional string field (absent or null: null).</summary>
    public static string? OptionalString(JsonElement n, string name) =>
        n.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>A required array field.</summary>
    public static JsonElement.ArrayEnumerator Array(JsonElement n, string name, string what, string source)
    {
        if (!n.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{source}: {what} has no array '{name}'");
        return v.EnumerateArray();
    }

    /// <summary>
    /// The <c>pattern</c> of a Split pre-tokenizer or Replace normalizer/decoder: {"String": s}
    /// (matched literally) or {"Regex": r}.
    /// </summary>
    public static CodePointRegex Pattern(JsonElement n, string what, string source)
    {
        if (!n.TryGetProperty("pattern", out var p) || p.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{source}: {what} has no 'pattern' object");
        if (OptionalString(p, "String") is string literal)
            return new CodePointRegex(System.Text.RegularExpressions.Regex.Escape(literal));
        if (OptionalString(p, "Regex") is string regex)
        {
            try { return new CodePointRegex(regex); }
            catch (ArgumentException e)
            {
                throw new NotSupportedException($"{source}: {what} regex '{regex}' is not one .NET can compile ({e.Message})");
            }
        }
        throw new InvalidDataException($"{source}: {what} pattern is neither {{\"String\": ...}} nor {{\"Regex\": ...}}");
    }

    private static string Kind(JsonElement n) => n.ValueKind.ToString().ToLowerInvariant();
}
