using System.Buffers.Binary;
using System.IO.Compression;

namespace Hyper.Tests.Plotting;

/// <summary>
/// A minimal PNG reader for the tests, written apart from the encoder (its own bitwise CRC, all five
/// row filters) so an encoder bug cannot hide behind a matching decoder bug. 8-bit truecolour, with
/// or without alpha, non-interlaced: what the plots use.
/// </summary>
internal static class PngTestDecoder
{
    public static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>A decoded image: [Height, Width, 4] RGBA bytes.</summary>
    public sealed record Image(int Width, int Height, byte[] Rgba)
    {
        public (byte R, byte G, byte B) At(int x, int y)
        {
            int i = (y * Width + x) * 4;
            return (Rgba[i], Rgba[i + 1], Rgba[i + 2]);
        }
    }

    /// <summary>Width and height from the IHDR chunk, without decoding pixels.</summary>
    public static (int Width, int Height) ReadSize(byte[] png)
    {
        Assert.That(png.AsSpan(0, 8).SequenceEqual(Signature), Is.True, "PNG signature");
        Assert.That(System.Text.Encoding.ASCII.GetString(png, 12, 4), Is.EqualTo("IHDR"), "first chunk");
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    public static Image Decode(byte[] png)
    {
        var (width, height) = ReadSize(png);
        int colourType = -1;
        var idat = new MemoryStream();
        bool ended = false;
        for (int at = 8; at < png.Length && !ended;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            Assert.That(crc, Is.EqualTo(BitwiseCrc(png.AsSpan(at + 4, length + 4))), $"CRC of {type}");
            switch (type)
            {
                case "IHDR":
                    Assert.That(data[8], Is.EqualTo(8), "bit depth");
                    colourType = data[9];
                    Assert.That(colourType, Is.AnyOf(2, 6), "colour type");
                    Assert.That(data[12], Is.EqualTo(0), "interlace");
                    break;
                case "IDAT": idat.Write(data); break;
                case "IEND": ended = true; break;
            }
            at += 12 + length;
        }
        Assert.That(ended, Is.True, "IEND present");

        int bpp = colourType == 6 ? 4 : 3, stride = width * bpp;
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        byte[] bytes = raw.ToArray();
        Assert.That(bytes.Length, Is.EqualTo(height * (stride + 1)), "inflated size");

        var rgba = new byte[width * height * 4];
        var prev = new byte[stride];
        var cur = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            int f = bytes[y * (stride + 1)];
            Assert.That(f, Is.InRange(0, 4), "filter type");
            for (int i = 0; i < stride; i++)
            {
                int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
                int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                int predictor = f switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    _ => pa <= pb && pa <= pc ? a : pb <= pc ? b : c,
                };
                cur[i] = (byte)(bytes[y * (stride + 1) + 1 + i] + predictor);
            }
            for (int x = 0; x < width; x++)
            {
                int o = (y * width + x) * 4;
                rgba[o] = cur[x * bpp];
                rgba[o + 1] = cur[x * bpp + 1];
                rgba[o + 2] = cur[x * bpp + 2];
                rgba[o + 3] = bpp == 4 ? cur[x * bpp + 3] : (byte)255;
            }
            (prev, cur) = (cur, prev);
        }
        return new Image(width, height, rgba);
    }

    /// <summary>CRC-32 one bit at a time: slow, and obviously the textbook definition.</summary>
    public static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB88320 : c >> 1;
        }
        return ~c;
    }
}
