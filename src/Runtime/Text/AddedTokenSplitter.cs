namespace Hyper.Runtime.Text;

/// <summary>
/// Cuts a text at the added tokens it contains, as Hugging Face's tokenizers do: leftmost match
/// first, the longest token where several start at the same char, never overlapping.
/// </summary>
internal sealed class AddedTokenSplitter
{
    // Tokens by first char, longest first, so the first that matches at a position is the longest.
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;

    /// <summary>A splitter over <paramref name="tokens"/> (empty contents are ignored).</summary>
    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    /// <summary>True when there is no token to look for.</summary>
    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>
    /// The text as consecutive parts: (start, length, null) for plain text and (start, length,
    /// token) for a match, whose extent includes the whitespace an lstrip/rstrip token takes.
    /// Empty plain parts are left out.
    /// </summary>
    public List<(int Start, int Length, AddedToken? Token)> Split(string text)
    {
        var parts = new List<(int, int, AddedToken?)>();
        int plainFrom = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (!_byFirstChar.TryGetValue(text[i], out var candidates)) continue;
            AddedToken? match = null;
            foreach (var t in candidates)
            {
                if (string.CompareOrdinal(text, i, t.Content, 0, t.Content.Length) != 0) continue;
                if (t.SingleWord && (IsWordBefore(text, i) || IsWordAt(text, i + t.Content.Length))) continue;
                match = t;
                break;
            }
            if (match is null) continue;
            int start = i, end = i + match.Content.Length;
            if (match.LStrip) while (start > plainFrom && char.IsWhiteSpace(text[start - 1])) start--;
            if (match.RStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            if (start > plainFrom) parts.Add((plainFrom, start - plainFrom, null));
            parts.Add((start, end - start, match));
            plainFrom = end;
            i = end - 1;
        }
        if (plainFrom < text.Length) parts.Add((plainFrom, text.Length - plainFrom, null));
        return parts;
    }

    private static bool IsWordBefore(string text, int i) => i > 0 && IsWordChar(text[i - 1]);

    private static bool IsWordAt(string text, int i) => i < text.Length && IsWordChar(text[i]);

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
