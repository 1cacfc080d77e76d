using Hyper.Runtime.Text;

namespace Hyper.Tests.Data;

/// <summary>Wraps a tokenizer and counts Encode calls, to tell a cache hit from a re-tokenization.</summary>
public sealed class CountingTokenizer(ITokenizer inner) : ITokenizer
{
    /// <summary>Encode calls so far.</summary>
    public int EncodeCalls { get; private set; }

    /// <inheritdoc />
    public string Name => inner.Name;

    /// <inheritdoc />
    public int VocabSize => inner.VocabSize;

    /// <inheritdoc />
    public int? EndOfText => inner.EndOfText;

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        EncodeCalls++;
        return inner.Encode(text);
    }

    /// <inheritdoc />
    public string Decode(ReadOnlySpan<int> ids) => inner.Decode(ids);

    /// <inheritdoc />
    public ITokenDecoder CreateStreamingDecoder() => inner.CreateStreamingDecoder();
}
