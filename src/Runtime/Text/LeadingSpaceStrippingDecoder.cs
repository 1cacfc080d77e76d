namespace Hyper.Runtime.Text;

/// <summary>
/// A streaming decoder that drops up to N spaces at the very start of the stream, as the
/// SentencePiece decoders' Strip does to the whole text, so streamed text equals
/// <see cref="HuggingFaceTokenizer.Decode"/> of the same ids.
/// </summary>
internal sealed class LeadingSpaceStrippingDecoder : ITokenDecoder
{
    private readonly ITokenDecoder _inner;
    private readonly int _spaces;
    private int _toStrip;

    public LeadingSpaceStrippingDecoder(ITokenDecoder inner, int spaces) => (_inner, _spaces, _toStrip) = (inner, spaces, spaces);

    public string Append(int id) => Strip(_inner.Append(id));

    public string Flush()
    {
        string rest = Strip(_inner.Flush());
        _toStrip = _spaces;
        return rest;
    }

    private string Strip(string text)
    {
        if (_toStrip == 0 || text.Length == 0) return text;
        int n = 0;
        while (n < _toStrip && n < text.Length && text[n] == ' ') n++;
        // Text arrived: a non-space ends the stripping, spaces so far count against it.
        _toStrip = n < text.Length ? 0 : _toStrip - n;
        return text[n..];
    }
}
