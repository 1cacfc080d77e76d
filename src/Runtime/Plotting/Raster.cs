namespace Hyper.Runtime.Plotting;

/// <summary>
/// An image in memory: Width × Height pixels, row-major from the top-left, 4 bytes each (R, G, B, A).
/// Every drawing call clips to the image, so callers may draw partly outside it.
/// </summary>
internal sealed class Raster
{
    public Raster(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        Width = width;
        Height = height;
        Pixels = new byte[checked(width * height * 4)];
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>[Height, Width, 4] RGBA bytes.</summary>
    public byte[] Pixels { get; }

    public Rgba this[int x, int y]
    {
        get
        {
            int i = (y * Width + x) * 4;
            return new Rgba(Pixels[i], Pixels[i + 1], Pixels[i + 2], Pixels[i + 3]);
        }
    }

    public void Clear(Rgba c)
    {
        for (int i = 0; i < Pixels.Length; i += 4)
        {
            Pixels[i] = c.R;
            Pixels[i + 1] = c.G;
            Pixels[i + 2] = c.B;
            Pixels[i + 3] = c.A;
        }
    }

    /// <summary>Paints <paramref name="c"/> over one pixel with weight coverage·alpha (0..1).</summary>
    public void Blend(int x, int y, Rgba c, float coverage = 1f)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height || coverage <= 0f) return;
        float a = Math.Min(coverage, 1f) * (c.A / 255f);
        int i = (y * Width + x) * 4;
        if (a >= 1f)
        {
            Pixels[i] = c.R;
            Pixels[i + 1] = c.G;
            Pixels[i + 2] = c.B;
            Pixels[i + 3] = 255;
            return;
        }
        Pixels[i] = Mix(Pixels[i], c.R, a);
        Pixels[i + 1] = Mix(Pixels[i + 1], c.G, a);
        Pixels[i + 2] = Mix(Pixels[i + 2], c.B, a);
        Pixels[i + 3] = Mix(Pixels[i + 3], 255, a);
    }

    public void FillRect(int x, int y, int width, int height, Rgba c)
    {
        int x0 = Math.Max(x, 0), y0 = Math.Max(y, 0);
        int x1 = Math.Min(x + width, Width), y1 = Math.Min(y + height, Height);
        for (int py = y0; py < y1; py++)
            for (int px = x0; px < x1; px++) Blend(px, py, c);
    }

    /// <summary>A one-pixel outline just inside the rectangle.</summary>
    public void StrokeRect(int x, int y, int width, int height, Rgba c)
    {
        FillRect(x, y, width, 1, c);
        FillRect(x, y + height - 1, width, 1, c);
        FillRect(x, y + 1, 1, height - 2, c);
        FillRect(x + width - 1, y + 1, 1, height - 2, c);
    }

    /// <summary>
    /// Paints <paramref name="c"/> through a coverage mask laid over <paramref name="at"/>
    /// ([at.Height, at.Width] floats in 0..1): one blend per pixel however many strokes overlap it,
    /// so a polyline's joints are not darker than its segments.
    /// </summary>
    public void Composite(float[] coverage, PixelRect at, Rgba c)
    {
        for (int ry = 0; ry < at.Height; ry++)
        {
            int row = ry * at.Width;
            for (int rx = 0; rx < at.Width; rx++)
            {
                float a = coverage[row + rx];
                if (a > 0f) Blend(at.X + rx, at.Y + ry, c, a);
            }
        }
    }

    private static byte Mix(byte dst, byte src, float a) => (byte)(dst + (src - dst) * a + 0.5f);
}
