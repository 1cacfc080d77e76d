using System.Text;
using System.Text.Json;

namespace Hyper.Runtime.Text;

/// <summary>
/// tokenizer.json's <c>decoder</c>, reduced to what makes decoding exact and streamable: the
/// bytes each token stands for, and how many leading spaces of the whole text to drop.
/// Supported: ByteLevel (alphabet chars back to bytes; a token with other chars is its UTF-8);
/// and SentencePiece-style chains of Replace, ByteFallback (&lt;0xNN&gt; is byte NN), Fuse,
/// Strip (leading only, after Fuse) and Metaspace ("▁" back to a space, the first one dropped).
/// Hugging Face's decoders then read the joined bytes as UTF-8 too; they differ only in how many
/// U+FFFD an invalid sequence becomes.
/// </summary>
internal sealed class TokenizerDecoder
{
    private readonly List<Func<string, string>> _replaces = [];
    private bool _byteLevel, _byteFallback, _fused;

    /// <summary>Reads <paramref name="node"/>.</summary>
    /// <exception cref="NotSupportedException">No decoder, or a decoder this class does not implement.</exception>
    public TokenizerDecoder(JsonElement? node, string source)
    {
        if (node is not { ValueKind: not JsonValueKind.Null } n)
            throw new NotSupportedException($"{source}: a tokenizer without a decoder is not supported (its tokens would be joined with spaces)");
        Add(n, source);
    }

    /// <summary>Leading spaces (at most this many) removed from the decoded text.</summary>
    public int StripLeadingSpaces { get; private set; }

    /// <summary>The bytes <paramref name="token"/> stands for.</summary>
    public byte[] BytesOf(string token)
    {
        if (_byteLevel) return ByteLevelAlphabet.Unmap(token) ?? Encoding.UTF8.GetBytes(token);
        if (_byteFallback && token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out byte b))
            return [b];
        foreach (var replace in _replaces) token = replace(token);
        return Encoding.UTF8.GetBytes(token);
    }

    private void Add(JsonElement n, string source)
    {
        string type = TokenizerJson.Type(n, "decoder", source);
        switch (type)
        {
            case "Sequence":
                foreach (var child in TokenizerJson.Array(n, "decoders", "decoder", source)) Add(child, source);
                break;
            case "ByteLevel":
                _byteLevel = true;
                break;
            case "Replace":
            {
                var pattern = TokenizerJson.Pattern(n, "Replace decoder", source);
                string content = TokenizerJson.String(n, "content", "Replace decoder", source);
                _replaces.Add(t => pattern.Replace(t, content));
                break;
            }
            case "ByteFallback":
                _byteFallback = true;
                break;
            case "Fuse":
                _fused = true;
                break;
            case "Strip":
            {
                string content = TokenizerJson.String(n, "content", "Strip decoder", source);
                int start = n.TryGetProperty("start", out var s) && s.TryGetInt32(out int v) ? v : 0;
                int stop = n.TryGetProperty("stop", out var e) && e.TryGetInt32(out int w) ? w : 0;
                // Before Fuse, Strip would cut every token; at the end of the text it would
                // hold a streaming decoder back. Neither occurs in the Llama/Mistral files.
                if (content != " " || stop != 0 || !_fused)
                    throw new NotSupportedException($"{source}: Strip decoder other than leading spaces after Fuse is not supported");
                StripLeadingSpaces += start;
                break;
            }
            case "Metaspace":
            {
                string replacement = TokenizerJson.String(n, "replacement", "Metaspace decoder", source);
                _replaces.Add(t => t.Replace(replacement, " ", StringComparison.Ordinal));
                if (PreTokenizer.MetaspaceScheme(n, source) != "never") StripLeadingSpaces += 1;
                break;
            }
            default:
                throw new NotSupportedException($"{source}: decoder type '{type}' is not supported (supported: Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace)");
        }
        if (_byteLevel && (_byteFallback || _replaces.Count > 0))
            throw new NotSupportedException($"{source}: a decoder that mixes ByteLevel with Replace, ByteFallback or Metaspace is not supported");
    }
}
