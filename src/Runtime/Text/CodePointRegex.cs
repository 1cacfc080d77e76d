using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Hyper.Runtime.Text;

/// <summary>
/// A pre-tokenizer regex matched the way Hugging Face's tokenizers match it: over code points.
/// .NET's <see cref="Regex"/> works on UTF-16 chars, so a char outside the BMP (an emoji, 𝐇, 𠀋) is
/// two surrogates to it, and <c>[^\r\n\p{L}\p{N}]?\p{L}+</c> takes "😀abc" apart where Rust and
/// JavaScript (u flag) keep it whole. Such a text is matched in a stand-in copy where each astral
/// char is one BMP char of the same Unicode category: these patterns test chars only by category
/// (\p{L}, \s, ...) or as ASCII literals, so every match has the same extent in code points, and
/// the matches are mapped back to the real text.
/// </summary>
internal sealed class CodePointRegex
{
    // One BMP stand-in per category, above Latin-1 so it equals no ASCII literal of a pattern.
    private static readonly char[] StandIn = BuildStandIns();

    private readonly Regex _regex;

    /// <summary>Compiles <paramref name="pattern"/>; a syntax .NET lacks is an <see cref="ArgumentException"/>.</summary>
    public CodePointRegex(string pattern) =>
        _regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>The pattern as written in tokenizer.json.</summary>
    public string Pattern => _regex.ToString();

    /// <summary>The (start, length) in chars of each match in <paramref name="text"/>, left to right.</summary>
    public List<(int Start, int Length)> Matches(string text)
    {
        var found = new List<(int, int)>();
        if (!HasSurrogate(text))
        {
            for (Match m = _regex.Match(text); m.Success; m = m.NextMatch())
                if (m.Length > 0) found.Add((m.Index, m.Length));
            return found;
        }

        // at[i]: where stand-in char i starts in the real text (plus one entry for the end).
        var proxy = new StringBuilder(text.Length);
        var at = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            at.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                proxy.Append(StandIn[(int)CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]))]);
                i++;
            }
            else proxy.Append(text[i]);
        }
        at.Add(text.Length);
        for (Match m = _regex.Match(proxy.ToString()); m.Success; m = m.NextMatch())
            if (m.Length > 0) found.Add((at[m.Index], at[m.Index + m.Length] - at[m.Index]));
        return found;
    }

    /// <summary><paramref name="text"/> with every match replaced by <paramref name="content"/> (taken literally).</summary>
    public string Replace(string text, string content)
    {
        var matches = Matches(text);
        if (matches.Count == 0) return text;
        var sb = new StringBuilder(text.Length);
        int at = 0;
        foreach (var (start, length) in matches)
        {
            sb.Append(text, at, start - at).Append(content);
            at = start + length;
        }
        return sb.Append(text, at, text.Length - at).ToString();
    }

    private static bool HasSurrogate(string text)
    {
        foreach (char c in text)
            if (char.IsSurrogate(c)) return true;
        return false;
    }

    private static char[] BuildStandIns()
    {
        var standIn = new char[32];
        for (int c = 0xFFFD; c >= 0x100; c--)
            if (!char.IsSurrogate((char)c)) standIn[(int)CharUnicodeInfo.GetUnicodeCategory((char)c)] = (char)c;
        // Unpaired surrogates are not replaced, so Surrogate needs no stand-in; every other
        // category occurs above U+00FF.
        return standIn;
    }
}
