namespace Hyper.Runtime.Text;

/// <summary>
/// GPT-2's byte-level alphabet: each of the 256 byte values stands for one printable char, so a
/// vocabulary of strings can hold any byte sequence. Printable Latin-1 bytes ('!'..'~', '¡'..'¬',
/// '®'..'ÿ') stand for themselves; the other 68 take the chars from U+0100 on, in byte order
/// (the space 0x20 becomes 'Ġ' U+0120, the newline 0x0A becomes 'Ċ' U+010A).
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>The char byte b stands for.</summary>
    public static readonly char[] CharOf = BuildCharOf();

    // Indexed by char; -1 where the char is not in the alphabet. Every alphabet char is below U+0144.
    private static readonly short[] ByteOfChar = BuildByteOfChar();

    /// <summary>The byte <paramref name="c"/> stands for, or -1 when it is not in the alphabet.</summary>
    public static int ByteOf(char c) => c < ByteOfChar.Length ? ByteOfChar[c] : -1;

    /// <summary>The alphabet chars of <paramref name="text"/>'s UTF-8 bytes.</summary>
    public static string Map(ReadOnlySpan<char> text)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(text)];
        System.Text.Encoding.UTF8.GetBytes(text, bytes);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = CharOf[bytes[i]];
        return new string(chars);
    }

    /// <summary>
    /// The bytes a token string stands for, or null when one of its chars is outside the alphabet
    /// (an added token such as "&lt;|im_start|&gt;" is in it; "▁" is not).
    /// </summary>
    public static byte[]? Unmap(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            int b = ByteOf(token[i]);
            if (b < 0) return null;
            bytes[i] = (byte)b;
        }
        return bytes;
    }

    private static char[] BuildCharOf()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + next++);
        }
        return map;
    }

    private static short[] BuildByteOfChar()
    {
        var inverse = new short[256 + 68];
        Array.Fill(inverse, (short)-1);
        for (int b = 0; b < 256; b++) inverse[CharOf[b]] = (short)b;
        return inverse;
    }
}
