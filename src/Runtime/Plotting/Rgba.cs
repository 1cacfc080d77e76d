namespace Hyper.Runtime.Plotting;

/// <summary>A colour with straight (not premultiplied) alpha.</summary>
internal readonly record struct Rgba(byte R, byte G, byte B, byte A = 255)
{
    public static readonly Rgba White = new(255, 255, 255);

    /// <summary>From 0xRRGGBB, opaque.</summary>
    public static Rgba FromRgb(uint rgb) => new((byte)(rgb >> 16), (byte)(rgb >> 8), (byte)rgb);
}
