using System.Buffers.Binary;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.IO;

/// <summary>
/// llm.c's GPT-2 checkpoint (<c>gpt2_124M.bin</c> and friends): a header of 256 int32
/// (magic 20240326, version, maxT, V, L, NH, C, padded V), then every parameter in llm.c's
/// order — which is our arena's order — with wte padded to Vp rows. Version 3 stores fp32,
/// version 5 bf16.
/// </summary>
public static class LlmcCheckpoint
{
    /// <summary>The header's first int.</summary>
    public const int Magic = 20240326;

    /// <summary>Reads a checkpoint into a config and a host arena (padding rows dropped).</summary>
    public static (Gpt2Config Config, float[] Arena) Read(string path)
    {
        InputFile.Require(path, "llm.c checkpoint");
        using var f = File.OpenRead(path);
        var header = new byte[256 * 4];
        if (f.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
            throw new InvalidDataException($"{path}: too short for an llm.c checkpoint header (1024 bytes)");
        int H(int i) => BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(i * 4));
        if (H(0) != Magic) throw new InvalidDataException($"{path}: bad magic {H(0)} (an llm.c checkpoint starts with {Magic})");
        int version = H(1);
        if (version != 3 && version != 5) throw new InvalidDataException($"{path}: llm.c checkpoint version {version} is not supported (3 = fp32, 5 = bf16)");
        var config = new Gpt2Config { NPositions = H(2), VocabSize = H(3), NLayer = H(4), NHead = H(5), NEmbd = H(6) };
        int paddedV = H(7);
        try { config.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
        if (paddedV < config.VocabSize) throw new InvalidDataException($"{path}: padded vocab {paddedV} is below vocab {config.VocabSize}");

        var layout = new ParameterLayout(config);
        long padding = (long)(paddedV - config.VocabSize) * config.NEmbd;
        long stored = layout.Parameters + padding;
        int width = version == 3 ? 4 : 2;
        if (f.Length - header.Length != stored * width)
            throw new InvalidDataException($"{path}: holds {f.Length - header.Length} bytes of parameters, the header implies {stored * width}");
        // Streamed in chunks: GPT-2 large's 3 GB file does not fit one byte array.
        // The file pads wte to paddedV rows, the arena to its own Vp: each side skips its own padding.
        var arena = new float[layout.Total];
        var wte = layout["wte"];
        long rest = layout["wpe"].Offset;
        var buffer = new byte[ChunkValues * width];
        ReadValues(f, arena.AsSpan(0, (int)wte.Stored), width, buffer);
        f.Seek(padding * width, SeekOrigin.Current); // wte's padding rows
        ReadValues(f, arena.AsSpan((int)rest), width, buffer);
        foreach (var e in layout.Entries)
            FiniteValues.Check(arena.AsSpan((int)e.Offset, (int)e.Stored), path, e.Name);
        return (config, arena);
    }

    /// <summary>
    /// Writes a checkpoint (version 3 fp32 or 5 bf16), padding the vocabulary to a multiple of
    /// 128 as llm.c does; written aside, then renamed over <paramref name="path"/>.
    /// </summary>
    public static void Write(string path, Gpt2Config config, float[] arena, int version = 3)
    {
        if (version != 3 && version != 5) throw new ArgumentException($"llm.c checkpoint version {version} is not supported (3 or 5)");
        var layout = new ParameterLayout(config);
        if (arena.Length != layout.Total) throw new ArgumentException($"arena has {arena.Length} floats, the config needs {layout.Total}");
        int paddedV = VocabularyPadding.Padded(config.VocabSize, 128);
        long padding = (long)(paddedV - config.VocabSize) * config.NEmbd;
        int width = version == 3 ? 4 : 2;
        var header = new byte[1024];
        int[] fields = [Magic, version, config.NPositions, config.VocabSize, config.NLayer, config.NHead, config.NEmbd, paddedV];
        for (int i = 0; i < fields.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(i * 4), fields[i]);
        int wteCount = (int)layout["wte"].Stored, rest = (int)layout["wpe"].Offset;
        AtomicFile.Write(path, stream =>
        {
            var buffer = new byte[ChunkValues * width];
            stream.Write(header);
            WriteValues(stream, arena.AsSpan(0, wteCount), width, buffer);
            for (long zeros = padding * width; zeros > 0; zeros -= Math.Min(zeros, buffer.Length)) // padding rows are zero
                stream.Write(new byte[(int)Math.Min(zeros, buffer.Length)]);
            WriteValues(stream, arena.AsSpan(rest), width, buffer);
        });
    }

    // Values converted per chunk, so reading and writing need no buffer the size of the file.
    private const int ChunkValues = 1 << 20;

    private static void ReadValues(Stream f, Span<float> dst, int width, byte[] buffer)
    {
        for (int at = 0; at < dst.Length;)
        {
            int n = Math.Min(ChunkValues, dst.Length - at);
            var bytes = buffer.AsSpan(0, n * width);
            f.ReadExactly(bytes);
            for (int i = 0; i < n; i++)
                dst[at + i] = width == 4
                    ? BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..])
                    : BFloat16.ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]));
            at += n;
        }
    }

    private static void WriteValues(Stream f, ReadOnlySpan<float> src, int width, byte[] buffer)
    {
        for (int at = 0; at < src.Length;)
        {
            int n = Math.Min(ChunkValues, src.Length - at);
            var bytes = buffer.AsSpan(0, n * width);
            for (int i = 0; i < n; i++)
                if (width == 4) BinaryPrimitives.WriteSingleLittleEndian(bytes[(i * 4)..], src[at + i]);
                else BinaryPrimitives.WriteUInt16LittleEndian(bytes[(i * 2)..], BFloat16.FromSingle(src[at + i]));
            f.Write(bytes);
            at += n;
        }
    }
}
