using System.Buffers.Binary;

namespace Hyper.Runtime.Data;

/// <summary>
/// Token files in llm.c's format: a header of 256 little-endian int32 ([0] = magic 20240520,
/// [1] = version 1, [2] = token count, the rest zero), then the tokens as little-endian uint16.
/// </summary>
public static class TokenShard
{
    /// <summary>First header word of every shard.</summary>
    public const int Magic = 20240520;

    /// <summary>The only version written and read.</summary>
    public const int Version = 1;

    /// <summary>Header size in bytes (256 int32).</summary>
    public const int HeaderBytes = 256 * sizeof(int);

    /// <summary>Whether <paramref name="path"/> starts with the shard magic (a short or unreadable-as-shard file is not one).</summary>
    public static bool HasMagic(string path)
    {
        Span<byte> first = stackalloc byte[sizeof(int)];
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return f.ReadAtLeast(first, first.Length, throwOnEndOfStream: false) == first.Length
            && BinaryPrimitives.ReadInt32LittleEndian(first) == Magic;
    }

    /// <summary>
    /// Reads the tokens of a shard. Throws <see cref="FileNotFoundException"/> for a missing file and
    /// <see cref="InvalidDataException"/> naming the file for a wrong magic or version, a truncated
    /// file, or a size that disagrees with the header's count.
    /// </summary>
    public static int[] Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new IOException($"token shard {path} is a folder, not a file");
        if (!File.Exists(path)) throw new FileNotFoundException($"token shard {path} does not exist", path);
        byte[] bytes = File.ReadAllBytes(path);
        int magic = bytes.Length >= sizeof(int) ? BinaryPrimitives.ReadInt32LittleEndian(bytes) : 0;
        if (bytes.Length >= sizeof(int) && magic != Magic)
            throw new InvalidDataException($"{path} is not a token shard: magic {magic}, expected {Magic}");
        if (bytes.Length < HeaderBytes)
            throw new InvalidDataException($"token shard {path} is truncated: {bytes.Length} bytes, shorter than the {HeaderBytes}-byte header");
        int version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4));
        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        if (version != Version)
            throw new InvalidDataException($"token shard {path} has version {version}; only version {Version} is supported");
        if (count < 0)
            throw new InvalidDataException($"token shard {path} has a negative token count {count}");

        long expected = HeaderBytes + 2L * count;
        if (bytes.Length < expected)
            throw new InvalidDataException(
                $"token shard {path} is truncated: header says {count} tokens ({expected} bytes) but the file has {bytes.Length} bytes");
        if (bytes.Length > expected)
            throw new InvalidDataException(
                $"token shard {path} has a count mismatch: header says {count} tokens ({expected} bytes) but the file has {bytes.Length} bytes");

        var tokens = new int[count];
        ReadOnlySpan<byte> body = bytes.AsSpan(HeaderBytes);
        for (int i = 0; i < count; i++) tokens[i] = BinaryPrimitives.ReadUInt16LittleEndian(body[(2 * i)..]);
        return tokens;
    }

    /// <summary>
    /// Writes <paramref name="tokens"/> as a shard. The bytes go to <c>path + ".tmp"</c> first and are
    /// then moved over <paramref name="path"/>, so a reader never sees a half-written shard. Every id
    /// must fit uint16 (0..65535), else <see cref="ArgumentOutOfRangeException"/> and nothing is written.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = new byte[HeaderBytes + 2L * tokens.Length];
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(0), Magic);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), Version);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), tokens.Length);
        Span<byte> body = bytes.AsSpan(HeaderBytes);
        for (int i = 0; i < tokens.Length; i++)
        {
            int id = tokens[i];
            if ((uint)id > ushort.MaxValue)
                throw new ArgumentOutOfRangeException(nameof(tokens), id,
                    $"token {i} = {id} does not fit the uint16 of token shard {path}");
            BinaryPrimitives.WriteUInt16LittleEndian(body[(2 * i)..], (ushort)id);
        }

        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        string tmp = path + ".tmp";
        try
        {
            using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                f.Write(bytes);
                f.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
