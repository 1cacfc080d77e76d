using System.Text;

namespace Hyper.Runtime.Text;

/// <summary>The UTF-8 bytes of the text are the ids (vocabulary 256, no end-of-text token).</summary>
public sealed class ByteTokenizer : ITokenizer
{
    private static readonly byte[][] Table = Enumerable.Range(0, 256).Select(b => new[] { (byte)b }).ToArray();

    /// <inheritdoc />
    public string Name => "byte";

    /// <inheritdoc />
    public int VocabSize => 256;

    /// <inheritdoc />
    public int? EndOfText => null;

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var ids = new int[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) ids[i] = bytes[i];
        return ids;
    }

    /// <inheritdoc />
    public string Decode(ReadOnlySpan<int> ids) => TokenBytes.Decode(Table, ids);

    /// <inheritdoc />
    public ITokenDecoder CreateStreamingDecoder() => new Utf8TokenDecoder(Table);
}
