using System.Text.Json;

namespace Hyper.Runtime.Text;

/// <summary>
/// tokenizer.json's <c>pre_tokenizer</c>: cuts a normalized stretch of text into the pieces BPE
/// runs on (it never merges across them). Supported: Sequence; Split (regex or string pattern,
/// behaviours Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous); ByteLevel
/// (optional prefix space and GPT-2 regex, then each piece's UTF-8 bytes in the byte-level
/// alphabet); Metaspace (spaces become "▁", prepend scheme always/first/never, optional split
/// before each "▁"); Digits. Each step applies to every piece the previous steps made, as in
/// Hugging Face's tokenizers (so ByteLevel's prefix space goes before every piece).
/// </summary>
internal sealed class PreTokenizer
{
    /// <summary>The regex of GPT-2's ByteLevel pre-tokenizer (use_regex: true).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private enum Behavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous }

    // A step maps one piece to its pieces; the flag says the piece starts the whole input (Metaspace "first").
    private readonly List<Func<string, bool, IEnumerable<string>>> _steps = [];

    /// <summary>Builds the steps of <paramref name="node"/> (null or JSON null: the stretch is one piece).</summary>
    /// <exception cref="NotSupportedException">A pre-tokenizer type or option this class does not implement.</exception>
    public PreTokenizer(JsonElement? node, string source)
    {
        if (node is { ValueKind: not JsonValueKind.Null } n) Add(n, source);
    }

    /// <summary>True when some step maps pieces to byte-level alphabet chars.</summary>
    public bool IsByteLevel { get; private set; }

    /// <summary>The pieces of <paramref name="text"/>; <paramref name="atStart"/>: it starts the input.</summary>
    public List<string> Split(string text, bool atStart)
    {
        var pieces = new List<string> { text };
        foreach (var step in _steps)
        {
            var next = new List<string>(pieces.Count);
            for (int i = 0; i < pieces.Count; i++) next.AddRange(step(pieces[i], atStart && i == 0));
            pieces = next;
        }
        pieces.RemoveAll(p => p.Length == 0);
        return pieces;
    }

    private void Add(JsonElement n, string source)
    {
        string type = TokenizerJson.Type(n, "pre_tokenizer", source);
        switch (type)
        {
            case "Sequence":
                foreach (var child in TokenizerJson.Array(n, "pretokenizers", "pre_tokenizer", source)) Add(child, source);
                break;
            case "Split":
            {
                if (TokenizerJson.Bool(n, "invert", false))
                    throw new NotSupportedException($"{source}: Split pre-tokenizer with invert: true is not supported");
                var regex = TokenizerJson.Pattern(n, "Split pre-tokenizer", source);
                var behavior = ParseBehavior(TokenizerJson.String(n, "behavior", "Split pre-tokenizer", source), source);
                _steps.Add((piece, _) => SplitBy(regex, piece, behavior));
                break;
            }
            case "ByteLevel":
            {
                bool prefix = TokenizerJson.Bool(n, "add_prefix_space", false);
                CodePointRegex? regex = TokenizerJson.Bool(n, "use_regex", true) ? new CodePointRegex(Gpt2Pattern) : null;
                _steps.Add((piece, _) =>
                {
                    if (prefix && !piece.StartsWith(' ')) piece = " " + piece;
                    var parts = regex is null ? [piece] : SplitBy(regex, piece, Behavior.Isolated);
                    return parts.Select(p => ByteLevelAlphabet.Map(p));
                });
                IsByteLevel = true;
                break;
            }
            case "Metaspace":
            {
                string replacement = TokenizerJson.String(n, "replacement", "Metaspace pre-tokenizer", source);
                string scheme = MetaspaceScheme(n, source);
                bool split = TokenizerJson.Bool(n, "split", true);
                var marker = new CodePointRegex(System.Text.RegularExpressions.Regex.Escape(replacement));
                _steps.Add((piece, atStart) =>
                {
                    piece = piece.Replace(" ", replacement, StringComparison.Ordinal);
                    if ((scheme == "always" || scheme == "first" && atStart) && !piece.StartsWith(replacement, StringComparison.Ordinal))
                        piece = replacement + piece;
                    return split ? SplitBy(marker, piece, Behavior.MergedWithNext) : [piece];
                });
                break;
            }
            case "Digits":
            {
                var digits = new CodePointRegex(TokenizerJson.Bool(n, "individual_digits", false) ? @"\p{N}" : @"\p{N}+");
                _steps.Add((piece, _) => SplitBy(digits, piece, Behavior.Isolated));
                break;
            }
            default:
                throw new NotSupportedException($"{source}: pre_tokenizer type '{type}' is not supported (supported: Sequence, Split, ByteLevel, Metaspace, Digits)");
        }
    }

    /// <summary>Metaspace's prepend_scheme, or the older add_prefix_space flag it replaced.</summary>
    internal static string MetaspaceScheme(JsonElement n, string source)
    {
        if (n.TryGetProperty("prepend_scheme", out var s) && s.ValueKind == JsonValueKind.String)
        {
            string scheme = s.GetString()!;
            if (scheme is not ("always" or "first" or "never"))
                throw new NotSupportedException($"{source}: Metaspace prepend_scheme '{scheme}' is not supported (supported: always, first, never)");
            return scheme;
        }
        return TokenizerJson.Bool(n, "add_prefix_space", true) ? "always" : "never";
    }

    private static Behavior ParseBehavior(string name, string source) => name switch
    {
        "Isolated" => Behavior.Isolated,
        "Removed" => Behavior.Removed,
        "MergedWithPrevious" => Behavior.MergedWithPrevious,
        "MergedWithNext" => Behavior.MergedWithNext,
        "Contiguous" => Behavior.Contiguous,
        _ => throw new NotSupportedException($"{source}: Split behavior '{name}' is not supported (supported: Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous)"),
    };

    /// <summary>Cuts <paramref name="text"/> at the matches of <paramref name="regex"/>, keeping them as the behaviour says.</summary>
    private static List<string> SplitBy(CodePointRegex regex, string text, Behavior behavior)
    {
        // The text as alternating (start, length, isMatch) parts, without empty ones.
        var parts = new List<(int Start, int Length, bool IsMatch)>();
        int at = 0;
        foreach (var (start, length) in regex.Matches(text))
        {
            if (start > at) parts.Add((at, start - at, false));
            parts.Add((start, length, true));
            at = start + length;
        }
        if (at < text.Length) parts.Add((at, text.Length - at, false));

        var spans = new List<(int Start, int Length)>(parts.Count);
        switch (behavior)
        {
            case Behavior.Isolated:
                spans.AddRange(parts.Select(p => (p.Start, p.Length)));
                break;
            case Behavior.Removed:
                spans.AddRange(parts.Where(p => !p.IsMatch).Select(p => (p.Start, p.Length)));
                break;
            case Behavior.MergedWithPrevious:
                for (int i = 0; i < parts.Count; i++)
                {
                    bool join = parts[i].IsMatch && i > 0 && !parts[i - 1].IsMatch;
                    if (join) spans[^1] = (spans[^1].Start, spans[^1].Length + parts[i].Length);
                    else spans.Add((parts[i].Start, parts[i].Length));
                }
                break;
            case Behavior.MergedWithNext:
                for (int i = parts.Count - 1; i >= 0; i--)
                {
                    bool join = parts[i].IsMatch && i + 1 < parts.Count && !parts[i + 1].IsMatch;
                    if (join) spans[^1] = (parts[i].Start, spans[^1].Length + parts[i].Length);
                    else spans.Add((parts[i].Start, parts[i].Length));
                }
                spans.Reverse();
                break;
            case Behavior.Contiguous:
                for (int i = 0; i < parts.Count; i++)
                {
                    bool join = parts[i].IsMatch && i > 0 && parts[i - 1].IsMatch;
                    if (join) spans[^1] = (spans[^1].Start, spans[^1].Length + parts[i].Length);
                    else spans.Add((parts[i].Start, parts[i].Length));
                }
                break;
        }
        return spans.Select(s => text.Substring(s.Start, s.Length)).ToList();
    }
}
