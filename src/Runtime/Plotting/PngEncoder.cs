using System.Buffers.Binary;
using System.IO.Compression;

namespace Hyper.Runtime.Plotting;

/// <summary>
/// Writes a <see cref="Raster"/> as a PNG: 8-bit truecolour without alpha (plots are opaque, and
/// dropping alpha saves a quarter of the filtered data), one IDAT chunk, no interlace.
/// </summary>
internal static class PngEncoder
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private const int BytesPerPixel = 3;

    public static byte[] Encode(Raster image)
    {
        using var png = new MemoryStream();
        png.Write(Signature);

        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], image.Height);
        ihdr[8] = 8;  // bit depth
        ihdr[9] = 2;  // colour type: truecolour
        ihdr[10] = 0; // compression: deflate
        ihdr[11] = 0; // filter method: adaptive, five filter types
        ihdr[12] = 0; // no interlace
        WriteChunk(png, "IHDR"u8, ihdr);
        WriteChunk(png, "IDAT"u8, Compress(image));
        WriteChunk(png, "IEND"u8, []);
        return png.ToArray();
    }

    private static byte[] Compress(Raster image)
    {
        int stride = image.Width * BytesPerPixel;
        var prev = new byte[stride]; // the row above the first is all zeros, as the spec says
        var cur = new byte[stride];
        var best = new byte[stride + 1];
        var trial = new byte[stride + 1];
        using var output = new MemoryStream();
        using (var z = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int y = 0; y < image.Height; y++)
            {
                int src = y * image.Width * 4;
                for (int x = 0; x < image.Width; x++)
                {
                    cur[x * 3] = image.Pixels[src + x * 4];
                    cur[x * 3 + 1] = image.Pixels[src + x * 4 + 1];
                    cur[x * 3 + 2] = image.Pixels[src + x * 4 + 2];
                }
                // libpng's heuristic: of the five filters, keep the one whose output, read as signed
                // bytes, has the smallest sum of magnitudes; it is cheap and near the best choice.
                long bestScore = long.MaxValue;
                for (byte f = 0; f <= 4; f++)
                {
                    long score = Filter(f, cur, prev, trial);
                    if (score < bestScore)
                    {
                        bestScore = score;
                        (best, trial) = (trial, best);
                    }
                }
                z.Write(best);
                (prev, cur) = (cur, prev);
            }
        }
        return output.ToArray();
    }

    /// <summary>Writes filter type <paramref name="f"/> and the filtered row into <paramref name="dst"/>; returns its score.</summary>
    private static long Filter(byte f, byte[] cur, byte[] prev, byte[] dst)
    {
        const int bpp = BytesPerPixel;
        dst[0] = f;
        Span<byte> d = dst.AsSpan(1);
        // One loop per filter type, not a switch per byte: this runs five times per row.
        // Left of the first pixel, a (left) and c (upper left) are zero.
        switch (f)
        {
            case 0:
                cur.CopyTo(d);
                break;
            case 1:
                for (int i = 0; i < bpp; i++) d[i] = cur[i];
                for (int i = bpp; i < cur.Length; i++) d[i] = (byte)(cur[i] - cur[i - bpp]);
                break;
            case 2:
                for (int i = 0; i < cur.Length; i++) d[i] = (byte)(cur[i] - prev[i]);
                break;
            case 3:
                for (int i = 0; i < bpp; i++) d[i] = (byte)(cur[i] - (prev[i] >> 1));
                for (int i = bpp; i < cur.Length; i++) d[i] = (byte)(cur[i] - ((cur[i - bpp] + prev[i]) >> 1));
                break;
            default:
                for (int i = 0; i < bpp; i++) d[i] = (byte)(cur[i] - prev[i]);
                for (int i = bpp; i < cur.Length; i++) d[i] = (byte)(cur[i] - Paeth(cur[i - bpp], prev[i], prev[i - bpp]));
                break;
        }
        long score = 0;
        foreach (byte v in d) score += Math.Abs((int)(sbyte)v);
        return score;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static void WriteChunk(Stream s, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        s.Write(type);
        s.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Append(Crc32.Compute(type), data));
        s.Write(word);
    }
}
