namespace Hyper.Runtime.Text;

/// <summary>
/// Maps text to token ids and back. Every token stands for a fixed byte sequence, so a decoder
/// can rebuild the exact UTF-8 bytes of any id sequence, including one that ends mid-character.
/// </summary>
public interface ITokenizer
{
    /// <summary>The name <see cref="Tokenizers.Create"/> knows it by ("byte" or "gpt2"); also part of cache keys.</summary>
    string Name { get; }

    /// <summary>Number of ids: every id is in [0, VocabSize).</summary>
    int VocabSize { get; }

    /// <summary>The document separator id, or null where the vocabulary has none.</summary>
    int? EndOfText { get; }

    /// <summary>Token ids of <paramref name="text"/>.</summary>
    int[] Encode(string text);

    /// <summary>
    /// Text of <paramref name="ids"/>: their bytes joined, then read as UTF-8 (an incomplete or
    /// invalid sequence becomes U+FFFD). Throws <see cref="ArgumentOutOfRangeException"/> for an id outside the vocabulary.
    /// </summary>
    string Decode(ReadOnlySpan<int> ids);

    /// <summary>A decoder for ids that arrive one at a time (generation).</summary>
    ITokenDecoder CreateStreamingDecoder();
}
