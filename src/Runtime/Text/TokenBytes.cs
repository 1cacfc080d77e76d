using System.Text;

namespace Hyper.Runtime.Text;

/// <summary>Shared helpers for tokenizers whose ids each stand for a fixed byte sequence.</summary>
internal static class TokenBytes
{
    /// <summary>The bytes of <paramref name="id"/>, or a clear error naming the vocabulary size.</summary>
    public static byte[] Of(byte[][] table, int id)
    {
        if ((uint)id >= (uint)table.Length)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"token id {id} is outside the vocabulary [0, {table.Length})");
        return table[id] ?? throw new ArgumentOutOfRangeException(nameof(id), id, $"token id {id} has no token in this vocabulary");
    }

    /// <summary>Joins the ids' bytes and reads them as UTF-8 (invalid or unfinished sequences become U+FFFD).</summary>
    public static string Decode(byte[][] table, ReadOnlySpan<int> ids)
    {
        int length = 0;
        foreach (int id in ids) length += Of(table, id).Length;
        byte[] bytes = new byte[length];
        int at = 0;
        foreach (int id in ids)
        {
            byte[] b = table[id]!;
            b.CopyTo(bytes, at);
            at += b.Length;
        }
        return Encoding.UTF8.GetString(bytes);
    }
}
