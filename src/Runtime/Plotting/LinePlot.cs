using Hyper.Runtime.IO;

namespace Hyper.Runtime.Plotting;

/// <summary>
/// Line plots saved as PNG files: loss curves, per-epoch metrics, benchmark curves. Everything is
/// drawn here (raster, built-in 5×7 font, PNG encoder), so plots look the same on every machine and
/// need no native library or installed font.
/// </summary>
public static class LinePlot
{
    /// <summary>Default size of <see cref="Save"/>'s image, in pixels.</summary>
    public const int DefaultWidth = 960, DefaultHeight = 600;

    /// <summary>Default size of each panel of <see cref="SaveGrid"/>, in pixels.</summary>
    public const int DefaultPanelWidth = 520, DefaultPanelHeight = 360;

    /// <summary>Smallest accepted image or panel size: below it the axes' labels leave no room for the plot.</summary>
    public const int MinWidth = 200, MinHeight = 150;

    // Font pixel scales: 5×7 glyphs drawn at 2× (10×14 px) read like a 10-11 pt font on screen.
    private const int TextScale = 2, TitleScale = 3;

    /// <summary>
    /// Draws <paramref name="series"/> on one set of axes and writes the PNG to <paramref name="path"/>
    /// atomically (a temporary file beside it, then a rename), creating its directory if needed.
    /// NaN and infinite points are skipped; empty series, or none at all, give empty axes.
    /// </summary>
    /// <exception cref="ArgumentException">A series has different counts of X and Y, or the path is empty or a directory.</exception>
    /// <exception cref="IOException">The file could not be written; the message names the path.</exception>
    public static void Save(string path, string title, string xLabel, string yLabel, IReadOnlyList<Series> series,
        bool logY = false, int width = DefaultWidth, int height = DefaultHeight)
    {
        CheckPath(path);
        Write(path, Render(new Panel(title, xLabel, yLabel, series, logY), width, height));
    }

    /// <summary>
    /// Draws each panel as a small plot in a grid (up to three a row, or about square when there are
    /// more than three, unless <paramref name="columns"/> is given) under a common title, and writes the
    /// PNG atomically as <see cref="Save"/> does.
    /// </summary>
    /// <exception cref="ArgumentException">A series has different counts of X and Y, or the path is empty or a directory.</exception>
    /// <exception cref="IOException">The file could not be written; the message names the path.</exception>
    public static void SaveGrid(string path, string title, IReadOnlyList<Panel> panels, int columns = 0,
        int panelWidth = DefaultPanelWidth, int panelHeight = DefaultPanelHeight)
    {
        CheckPath(path);
        Write(path, RenderGrid(title, panels, columns, panelWidth, panelHeight));
    }

    /// <summary>The image <see cref="Save"/> writes.</summary>
    internal static Raster Render(Panel panel, int width, int height)
    {
        CheckSize(width, height);
        var image = new Raster(width, height);
        image.Clear(Palette.Background);
        PanelRenderer.Render(image, new PixelRect(0, 0, width, height), panel, TitleScale, TextScale);
        return image;
    }

    /// <summary>The image <see cref="SaveGrid"/> writes.</summary>
    internal static Raster RenderGrid(string title, IReadOnlyList<Panel> panels, int columns, int panelWidth, int panelHeight)
    {
        ArgumentNullException.ThrowIfNull(panels);
        CheckSize(panelWidth, panelHeight);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        // No panels is drawn as one empty panel rather than refused: a report of a run that logged
        // nothing should still be written, not stop the run.
        if (panels.Count == 0) panels = [new Panel("", "", "", [])];
        int n = panels.Count;
        int cols = columns > 0 ? Math.Min(columns, n) : n <= 3 ? n : (int)Math.Ceiling(Math.Sqrt(n));
        int rows = (n + cols - 1) / cols;
        int pad = 4 * TextScale;
        title ??= "";
        int titleH = title.Length > 0 ? BitmapFont.Height(TitleScale) + 2 * pad : 0;

        var image = new Raster(checked(cols * panelWidth), checked(titleH + rows * panelHeight));
        image.Clear(Palette.Background);
        if (title.Length > 0)
        {
            string text = BitmapFont.Fit(title, image.Width - 2 * pad, TitleScale);
            BitmapFont.Draw(image, (image.Width - BitmapFont.Measure(text, TitleScale)) / 2, pad, text, TitleScale, Palette.Text);
        }
        for (int i = 0; i < n; i++)
        {
            var area = new PixelRect(i % cols * panelWidth, titleH + i / cols * panelHeight, panelWidth, panelHeight);
            PanelRenderer.Render(image, area, panels[i], TextScale, TextScale);
        }
        return image;
    }

    private static void CheckSize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, MinWidth);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, MinHeight);
    }

    // Checked before drawing so a bad path fails at once, with its name in the message.
    private static void CheckPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
            throw new ArgumentException($"Cannot save plot to '{path}': it is a directory.", nameof(path));
    }

    private static void Write(string path, Raster image)
    {
        byte[] png = PngEncoder.Encode(image);
        try
        {
            AtomicFile.WriteAllBytes(path, png);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new IOException($"Cannot save plot to '{path}': {e.Message}", e);
        }
    }
}
