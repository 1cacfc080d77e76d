using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Hyper.Runtime.Text;

/// <summary>
/// tokenizer.json's <c>normalizer</c>: steps applied in order to each stretch of text between
/// added tokens. Supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend (skipped for an
/// empty stretch, as in Hugging Face's), Replace (string or regex pattern) and Strip.
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

    /// <summary>
    /// Whether this process can normalize Unicode: the build sets InvariantGlobalization
    /// (Directory.Build.props), under which string.Normalize returns non-ASCII text unchanged.
    /// </summary>
    private static readonly bool CanNormalize = "e\u0301".Normalize(NormalizationForm.FormC) == "\u00e9";

    /// <summary>
    /// A Unicode normalization step. Without normalization data the step passes text it provably
    /// leaves unchanged and refuses the rest, so a tokenizer never returns wrong ids silently:
    /// for NFC that is text without combining marks or conjoining Hangul jamo (the handful of
    /// singleton mappings such as U+212B ANGSTROM SIGN is not detected); for NFD and the
    /// compatibility forms, ASCII text.
    /// </summary>
    private static Func<string, string> Unicode(NormalizationForm form, string type, string source)
    {
        if (CanNormalize) return s => s.Normalize(form);
        return s =>
        {
            foreach (char c in s)
            {
                bool changes = form == NormalizationForm.FormC
                    ? c is >= '\u1100' and <= '\u11FF' || c is not (>= '\uFE00' and <= '\uFE0F') // variation selectors: marks that compose with nothing
                        && char.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
                    : c > '\u007F';
                if (changes)
                    throw new NotSupportedException($"{source}: the {type} normalizer needs Unicode normalization data, which this build does not carry (invariant globalization); text with U+{(int)c:X4} would tokenize differently from Hugging Face's");
            }
            return s;
        };
    }

    private void Add(JsonElement n, string source)
    {
        string type = TokenizerJson.Type(n, "normalizer", source);
        switch (type)
        {
            case "Sequence":
                foreach (var child in TokenizerJson.Array(n, "normalizers", "normalizer", source)) Add(child, source);
                break;
            case "NFC": _steps.Add(Unicode(NormalizationForm.FormC, type, source)); break;
            case "NFD": _steps.Add(Unicode(NormalizationForm.FormD, type, source)); break;
            case "NFKC": _steps.Add(Unicode(NormalizationForm.FormKC, type, source)); break;
            case "NFKD": _steps.Add(Unicode(NormalizationForm.FormKD, type, source)); break;
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
