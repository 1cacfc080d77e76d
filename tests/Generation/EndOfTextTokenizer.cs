using Hyper.Runtime.Text;

namespace Hyper.Tests.Generation;

/// <summary>The byte tokenizer with one byte declared the end-of-text token, to drive the generator's end-of-text stop.</summary>
internal sealed class EndOfTextTokenizer(int endOfText) : ITokenizer
{
    private readonly ITokenizer _bytes = Tokenizers.Create("byte");

    public string Name => "byte-eot";
    public int VocabSize => _bytes.VocabSize;
    public int? EndOfText => endOfText;
    public int[] Encode(string text) => _bytes.Encode(text);
    public string Decode(ReadOnlySpan<int> ids) => _bytes.Decode(ids);
    public ITokenDecoder CreateStreamingDecoder() => _bytes.CreateStreamingDecoder();
}
