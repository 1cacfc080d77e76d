using System.Text.RegularExpressions;
using Hyper.Runtime.Text;

namespace Hyper.Runtime.Generation;

/// <summary>
/// Picks the prompts of the hyperfitting evaluation from a held-out text: the first k tokens (the paper:
/// 32) of N passages spread evenly over the file. When the file has at least N paragraphs (blank-line
/// separated), passage i is the first paragraph at or after paragraph ⌊i·P/N⌋ that is long enough (k tokens
/// under every tokenizer in use) and not already taken, so prompts start at paragraph starts. Otherwise
/// passage i starts at the first word boundary at or after character ⌊i·L/N⌋ and runs to the end of the file.
/// </summary>
public static partial class HeldOutPrompts
{
    /// <summary>
    /// The N passages (texts that each encode to at least <paramref name="promptTokens"/> tokens under every
    /// one of <paramref name="tokenizers"/>). Throws <see cref="InvalidDataException"/> when the file does not
    /// hold that many.
    /// </summary>
    public static IReadOnlyList<string> Passages(string text, int count, int promptTokens, IReadOnlyList<ITokenizer> tokenizers, string source = "the text")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokenizers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(promptTokens);
        text = text.Replace("\r\n", "\n");
        bool LongEnough(string passage) => tokenizers.All(t => Prefix(passage, promptTokens, t) is not null);

        var paragraphs = BlankLines().Split(text).Select(p => p.Trim()).Where(p => p.Length > 0).ToList();
        var passages = new List<string>(count);
        if (paragraphs.Count >= count)
        {
            int next = 0;
            for (int i = 0; i < count; i++)
            {
                int j = Math.Max((int)((long)i * paragraphs.Count / count), next);
                while (j < paragraphs.Count && !LongEnough(paragraphs[j])) j++;
                if (j == paragraphs.Count)
                    throw new InvalidDataException(
                        $"{source}: only {i} paragraphs from the evenly spread starting points on have {promptTokens} tokens; ask for fewer prompts or fewer prompt tokens");
                passages.Add(paragraphs[j]);
                next = j + 1;
            }
            return passages;
        }

        for (int i = 0; i < count; i++)
        {
            int at = (int)((long)i * text.Length / count);
            // Step to the start of the next word, unless already at one.
            if (at > 0 && !char.IsWhiteSpace(text[at - 1]))
                while (at < text.Length && !char.IsWhiteSpace(text[at])) at++;
            while (at < text.Length && char.IsWhiteSpace(text[at])) at++;
            string passage = text[at..];
            if (!LongEnough(passage))
                throw new InvalidDataException(
                    $"{source} is too short for {count} prompts of {promptTokens} tokens spread over it (it has no blank-line paragraphs to use instead)");
            passages.Add(passage);
        }
        return passages;
    }

    /// <summary>
    /// The first <paramref name="promptTokens"/> tokens of <paramref name="passage"/>, or null when it has
    /// fewer. A long passage is not tokenized whole: a window of it is, cut just before a whitespace that
    /// follows a word, where the tokenizers split anyway, so the window's tokens are those of the full text;
    /// the window doubles until it holds enough tokens.
    /// </summary>
    public static int[]? Prefix(string passage, int promptTokens, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(passage);
        ArgumentNullException.ThrowIfNull(tokenizer);
        for (int window = Math.Max(256, promptTokens * 8); ; window *= 2)
        {
            if (window >= passage.Length)
            {
                int[] all = tokenizer.Encode(passage);
                return all.Length >= promptTokens ? all[..promptTokens] : null;
            }
            int end = window;
            while (end > 0 && !(char.IsWhiteSpace(passage[end]) && !char.IsWhiteSpace(passage[end - 1]))) end--;
            if (end == 0) continue;
            int[] ids = tokenizer.Encode(passage[..end]);
            if (ids.Length >= promptTokens) return ids[..promptTokens];
        }
    }

    [GeneratedRegex(@"\n[ \t]*\n\s*")]
    private static partial Regex BlankLines();
}
