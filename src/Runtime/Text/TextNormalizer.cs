using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Hyper.Runtime.Text;

/// <summary>
/// tokenizer.json's <c>normalizer</c>: steps applied in order to each stretch of text between
/// added tokens. Supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend (skipped for an
/// empty stretch, as in Hugging Face's), Replace (string or regex pattern) and Strip. The Unicode
/// forms are <see cref="UnicodeNormalization"/>'s, which needs no ICU (the build is InvariantGlobalization).
/// </summary>
internal sealed class TextNormalizer
{
    private readonly List<Func<string, string>> _steps = [];

    /// <summary>Builds the steps of <paramref name="node"/> (null or JSON null: no normalization).</summary>
    /// <exception cref="NotSupportedException">A normalizer type this class does not implement.</exception>
    public TextNormalizer(JsonElement? node, string source)
    {
        if (node is { ValueKind: not JsonValueKind.Null } n) Add(n, source);
    }

    /// <summary>True when normalizing changes nothing.</summary>
    public bool IsIdentity => _steps.Count == 0;

    /// <summary>The normalized text.</summary>
    public string Apply(string text)
    {
        foreach (var step in _steps) text = step(text);
        return text;
    }

    private void Add(JsonElement n, string source)
    {
        string type = TokenizerJson.Type(n, "normalizer", source);
        switch (type)
        {
            case "Sequence":
                foreach (var child in TokenizerJson.Array(n, "normalizers", "normalizer", source)) Add(child, source);
                break;
            case "NFC": _steps.Add(s => UnicodeNormalization.Normalize(s, NormalizationForm.FormC)); break;
            case "NFD": _steps.Add(s => UnicodeNormalization.Normalize(s, NormalizationForm.FormD)); break;
            case "NFKC": _steps.Add(s => UnicodeNormalization.Normalize(s, NormalizationForm.FormKC)); break;
            case "NFKD": _steps.Add(s => UnicodeNormalization.Normalize(s, NormalizationForm.FormKD)); break;
            case "Lowercase": _steps.Add(s => s.ToLowerInvariant()); break;
            case "Prepend":
                string prefix = TokenizerJson.String(n, "prepend", "Prepend normalizer", source);
                _steps.Add(s => s.Length == 0 ? s : prefix + s);
                break;
            case "Replace":
                var replace = TokenizerJson.Pattern(n, "Replace normalizer", source);
                string content = TokenizerJson.String(n, "content", "Replace normalizer", source);
                _steps.Add(s => replace.Replace(s, content));
                break;
            case "Strip":
                bool left = TokenizerJson.Bool(n, "strip_left", true), right = TokenizerJson.Bool(n, "strip_right", true);
                _steps.Add(s => left && right ? s.Trim() : left ? s.TrimStart() : right ? s.TrimEnd() : s);
                break;
            default:
                throw new NotSupportedException($"{source}: normalizer type '{type}' is not supported (supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip)");
        }
    }
}
