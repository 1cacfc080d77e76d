using System.Text;

namespace Hyper.Runtime.Text;

/// <summary>
/// Streaming decoder over a table of each id's bytes. The stateful UTF-8 decoder of .NET holds
/// back an incomplete trailing sequence and treats invalid bytes exactly as a one-shot decode
/// does, which is what makes the streamed text equal the whole decode.
/// </summary>
internal sealed class Utf8TokenDecoder : ITokenDecoder
{
    private readonly byte[][] _tokenBytes;
    private readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();
    private readonly char[] _chars = new char[64];

    public Utf8TokenDecoder(byte[][] tokenBytes) => _tokenBytes = tokenBytes;

    public string Append(int id)
    {
        byte[] bytes = TokenBytes.Of(_tokenBytes, id);
        return Convert(bytes, flush: false);
    }

    public string Flush() => Convert([], flush: true);

    private string Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        // Up to 3 held-back bytes plus this token's can each yield at most one char (or a
        // replacement), so bytes.Length + 4 chars always suffices.
        Span<char> chars = bytes.Length + 4 <= _chars.Length ? _chars : new char[bytes.Length + 4];
        int n = _utf8.GetChars(bytes, chars, flush);
        return n == 0 ? string.Empty : new string(chars[..n]);
    }
}
