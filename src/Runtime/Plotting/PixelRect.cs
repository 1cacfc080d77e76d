namespace Hyper.Runtime.Plotting;

/// <summary>An axis-aligned block of whole pixels: columns [X, X+Width), rows [Y, Y+Height).</summary>
internal readonly record struct PixelRect(int X, int Y, int Width, int Height)
{
    public int Right => X + Width;
    public int Bottom => Y + Height;
}
