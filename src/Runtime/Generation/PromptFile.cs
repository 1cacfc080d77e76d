using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Hyper.Runtime.Generation;

/// <summary>
/// Reads prompts from a file. Plain text: one prompt per paragraph, paragraphs separated by blank lines
/// (lines inside a paragraph stay joined by their newlines; whitespace around a paragraph is removed), so a
/// prompt may span lines. JSON Lines (a <c>.jsonl</c> file): one prompt per non-blank line, either a JSON
/// string or an object with a "prompt" string, for prompts whose exact whitespace matters.
/// </summary>
public static partial class PromptFile
{
    /// <summary>
    /// The prompts of <paramref name="path"/>. Throws <see cref="FileNotFoundException"/> for a missing file
    /// and <see cref="InvalidDataException"/> for a file with no prompt or a malformed JSON line.
    /// </summary>
    public static IReadOnlyList<string> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new IOException($"prompt file {path} is a folder, not a file");
        if (!File.Exists(path)) throw new FileNotFoundException($"prompt file {path} does not exist", path);
        string text = File.ReadAllText(path, Encoding.UTF8);
        return Path.GetExtension(path).Equals(".jsonl", StringComparison.OrdinalIgnoreCase) ? ParseJsonLines(text, path) : Parse(text, path);
    }

    /// <summary>The blank-line separated prompts of <paramref name="text"/>; <paramref name="source"/> names it in errors.</summary>
    public static IReadOnlyList<string> Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var prompts = BlankLines().Split(text.Replace("\r\n", "\n"))
            .Select(p => p.Trim())
            .Where(p => p.Length > 0)
            .ToList();
        if (prompts.Count == 0) throw new InvalidDataException($"{source} holds no prompt (it is empty or only whitespace)");
        return prompts;
    }

    /// <summary>The prompts of JSON Lines <paramref name="text"/>: each line a string or an object with a "prompt" string.</summary>
    public static IReadOnlyList<string> ParseJsonLines(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var prompts = new List<string>();
        string[] lines = text.Replace("\r\n", "\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            try
            {
                using var doc = JsonDocument.Parse(lines[i]);
                var root = doc.RootElement;
                string? prompt = root.ValueKind switch
                {
                    JsonValueKind.String => root.GetString(),
                    JsonValueKind.Object when root.TryGetProperty("prompt", out var p) && p.ValueKind == JsonValueKind.String => p.GetString(),
                    _ => null,
                };
                if (string.IsNullOrEmpty(prompt)) throw new InvalidDataException($"{source} line {i + 1}: expected a non-empty JSON string or an object with a \"prompt\" string");
                prompts.Add(prompt);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{source} line {i + 1}: not JSON ({e.Message})", e);
            }
        }
        if (prompts.Count == 0) throw new InvalidDataException($"{source} holds no prompt (no non-blank line)");
        return prompts;
    }

    [GeneratedRegex(@"\n[ \t]*\n\s*")]
    private static partial Regex BlankLines();
}
