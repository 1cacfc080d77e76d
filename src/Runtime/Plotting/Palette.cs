namespace Hyper.Runtime.Plotting;

/// <summary>Colours of the plot furniture and of series, in the order series are given.</summary>
internal static class Palette
{
    // The "tab10" cycle (matplotlib's default): ten hues that stay distinct for most colour-blind
    // readers and on grey-scale prints, and that readers of ML plots already know.
    private static readonly Rgba[] SeriesColours =
    [
        Rgba.FromRgb(0x1f77b4), Rgba.FromRgb(0xff7f0e), Rgba.FromRgb(0x2ca02c), Rgba.FromRgb(0xd62728),
        Rgba.FromRgb(0x9467bd), Rgba.FromRgb(0x8c564b), Rgba.FromRgb(0xe377c2), Rgba.FromRgb(0x7f7f7f),
        Rgba.FromRgb(0xbcbd22), Rgba.FromRgb(0x17becf),
    ];

    public static readonly Rgba Background = Rgba.White;
    public static readonly Rgba Grid = Rgba.FromRgb(0xe4e4e4);
    public static readonly Rgba Frame = Rgba.FromRgb(0x404040);
    public static readonly Rgba Text = Rgba.FromRgb(0x202020);
    public static readonly Rgba Muted = Rgba.FromRgb(0x909090);
    public static readonly Rgba LegendFill = new(255, 255, 255, 230);
    public static readonly Rgba LegendBorder = Rgba.FromRgb(0xb0b0b0);

    /// <summary>The colour of the i-th series; the cycle repeats after ten.</summary>
    public static Rgba Series(int index) => SeriesColours[index % SeriesColours.Length];
}
