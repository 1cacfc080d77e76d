namespace Hyper.Runtime.Plotting;

/// <summary>
/// Draws one <see cref="Panel"/> (title, axes, grid, ticks, labels, lines, legend) into a rectangle
/// of a raster. Sizes are in font pixels times the text scale, so a panel drawn at scale 2 is the
/// same layout as at scale 1, twice as large.
/// </summary>
internal static class PanelRenderer
{
    /// <summary>Fraction of the data span left free at each end of an axis.</summary>
    private const double XMargin = 0.02, YMargin = 0.05;

    public static void Render(Raster image, PixelRect area, Panel panel, int titleScale, int textScale)
    {
        ArgumentNullException.ThrowIfNull(panel);
        ArgumentNullException.ThrowIfNull(panel.Series);
        int s = textScale;
        int pad = 4 * s, tickLen = 2 * s + 1, tickGap = 2 * s;
        int textH = BitmapFont.Height(s);
        string title = panel.Title ?? "", xLabel = panel.XLabel ?? "", yLabel = panel.YLabel ?? "";

        // Data: the drawable points of each series, and the bounds over all of them.
        var points = new List<(double X, double Y)[]>(panel.Series.Count);
        double xLo = double.PositiveInfinity, xHi = double.NegativeInfinity;
        double yLo = double.PositiveInfinity, yHi = double.NegativeInfinity;
        foreach (Series series in panel.Series)
        {
            var kept = Drawable(series, panel.LogY);
            foreach (var (x, y) in kept)
            {
                xLo = Math.Min(xLo, x); xHi = Math.Max(xHi, x);
                yLo = Math.Min(yLo, y); yHi = Math.Max(yHi, y);
            }
            points.Add(kept);
        }
        bool hasData = xLo <= xHi;
        AxisScale xs = AxisScale.Fit(xLo, xHi, log: false, XMargin);
        AxisScale ys = AxisScale.Fit(yLo, yHi, panel.LogY, YMargin);

        // Layout, outside in. The y ticks depend only on the plot's height, which is known first;
        // their labels' width then fixes the left edge, and the x ticks come last.
        int top = area.Y + pad + (title.Length > 0 ? BitmapFont.Height(titleScale) + pad : 0);
        int plotTop = top + textH / 2;
        int bottom = area.Bottom - pad - (xLabel.Length > 0 ? textH + pad : 0);
        int plotBottom = bottom - textH - tickGap - tickLen;
        int plotH = Math.Max(plotBottom - plotTop, 8);

        List<Tick> yTicks = FitTicks(ys, plotH, minGap: 2 * textH, s, vertical: true);
        int yTickW = yTicks.Count == 0 ? 0 : yTicks.Max(t => BitmapFont.Measure(t.Label, s));
        int left = area.X + pad + (yLabel.Length > 0 ? textH + pad : 0) + yTickW + tickGap + tickLen;

        // The last x label is centred on its tick and may stick out past the plot by half its width.
        int right = area.Right - pad - 3 * BitmapFont.Advance * s;
        List<Tick> xTicks = FitTicks(xs, Math.Max(right - left, 8), minGap: 0, s, vertical: false);
        if (xTicks.Count > 0)
            right = Math.Min(right, area.Right - pad - BitmapFont.Measure(xTicks[^1].Label, s) / 2);
        int plotW = Math.Max(right - left, 8);
        xTicks = FitTicks(xs, plotW, minGap: 0, s, vertical: false);
        var plot = new PixelRect(left, plotTop, plotW, plotH);

        double MapX(double v) => plot.X + 0.5 + xs.Fraction(v) * (plot.Width - 1);
        double MapY(double v) => plot.Y + 0.5 + (1 - ys.Fraction(v)) * (plot.Height - 1);

        foreach (Tick t in xTicks) image.FillRect((int)MapX(t.Value), plot.Y, 1, plot.Height, Palette.Grid);
        foreach (Tick t in yTicks) image.FillRect(plot.X, (int)MapY(t.Value), plot.Width, 1, Palette.Grid);

        // Lines: about 2 px wide at scale 2; markers where points are far enough apart to be read
        // one by one (e.g. a metric per epoch, a held-out loss every N steps).
        double halfWidth = 0.45 * s, markerRadius = 1.5 * s;
        int markerLimit = plot.Width / (8 * s);
        var mask = new float[plot.Width * plot.Height];
        var inked = new bool[mask.Length]; // where any series drew: what the legend should not hide
        for (int i = 0; i < points.Count; i++)
        {
            var mapped = Decimate(Array.ConvertAll(points[i], p => (MapX(p.X), MapY(p.Y))), plot.Width);
            if (mapped.Length == 0) continue;
            Array.Clear(mask);
            for (int k = 1; k < mapped.Length; k++)
                LineRasterizer.Segment(mask, plot, mapped[k - 1].Item1, mapped[k - 1].Item2, mapped[k].Item1, mapped[k].Item2, halfWidth);
            if (points[i].Length <= markerLimit)
                foreach (var (x, y) in mapped) LineRasterizer.Disc(mask, plot, x, y, markerRadius);
            image.Composite(mask, plot, Palette.Series(i));
            for (int k = 0; k < mask.Length; k++) inked[k] |= mask[k] > 0.25f;
        }

        image.StrokeRect(plot.X - 1, plot.Y - 1, plot.Width + 2, plot.Height + 2, Palette.Frame);
        int xTickTop = plot.Bottom + 1;
        foreach (Tick t in xTicks)
        {
            int px = (int)MapX(t.Value);
            image.FillRect(px, xTickTop, 1, tickLen, Palette.Frame);
            int w = BitmapFont.Measure(t.Label, s);
            BitmapFont.Draw(image, px - w / 2, xTickTop + tickLen + tickGap, t.Label, s, Palette.Text);
        }
        foreach (Tick t in yTicks)
        {
            int py = (int)MapY(t.Value);
            image.FillRect(plot.X - 1 - tickLen, py, tickLen, 1, Palette.Frame);
            int w = BitmapFont.Measure(t.Label, s);
            BitmapFont.Draw(image, plot.X - 1 - tickLen - tickGap - w, py - BitmapFont.CapHeight * s / 2, t.Label, s, Palette.Text);
        }

        if (xLabel.Length > 0)
        {
            string text = BitmapFont.Fit(xLabel, plot.Width, s);
            BitmapFont.Draw(image, plot.X + (plot.Width - BitmapFont.Measure(text, s)) / 2,
                xTickTop + tickLen + tickGap + textH + pad, text, s, Palette.Text);
        }
        if (yLabel.Length > 0)
        {
            string text = BitmapFont.Fit(yLabel, plot.Height, s);
            BitmapFont.DrawVertical(image, area.X + pad,
                plot.Y + (plot.Height + BitmapFont.Measure(text, s)) / 2, text, s, Palette.Text);
        }
        if (title.Length > 0)
        {
            string text = BitmapFont.Fit(title, area.Width - 2 * pad, titleScale);
            int w = BitmapFont.Measure(text, titleScale);
            int x = Math.Clamp(plot.X + (plot.Width - w) / 2, area.X + pad, area.Right - pad - w);
            BitmapFont.Draw(image, x, area.Y + pad, text, titleScale, Palette.Text);
        }
        if (!hasData)
        {
            const string none = "no data";
            BitmapFont.Draw(image, plot.X + (plot.Width - BitmapFont.Measure(none, s)) / 2,
                plot.Y + (plot.Height - textH) / 2, none, s, Palette.Muted);
        }
        DrawLegend(image, plot, panel.Series, inked, s);
    }

    /// <summary>The finite points of a series (positive too, on a log axis), in order.</summary>
    private static (double X, double Y)[] Drawable(Series series, bool logY)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(series.X, nameof(series.X));
        ArgumentNullException.ThrowIfNull(series.Y, nameof(series.Y));
        if (series.X.Count != series.Y.Count)
            throw new ArgumentException(
                $"Series '{series.Name}' has {series.X.Count} x values but {series.Y.Count} y values.", nameof(series));
        var kept = new List<(double, double)>(series.X.Count);
        for (int i = 0; i < series.X.Count; i++)
        {
            double x = series.X[i], y = series.Y[i];
            if (double.IsFinite(x) && double.IsFinite(y) && (!logY || y > 0)) kept.Add((x, y));
        }
        return [.. kept];
    }

    /// <summary>
    /// A long series sorted by x, in pixel coordinates, cut to at most four points per pixel column:
    /// the first, lowest, highest and last, in their order (M4 aggregation). The line through them
    /// spans the same rows in every column as the line through all points, so the picture is the
    /// same while a million-step loss curve costs a few thousand segments. Unsorted series are
    /// drawn in full, since their columns do not hold contiguous runs of points.
    /// </summary>
    private static (double X, double Y)[] Decimate((double X, double Y)[] points, int columns)
    {
        if (points.Length <= 4 * columns) return points;
        for (int i = 1; i < points.Length; i++)
            if (points[i].X < points[i - 1].X) return points;
        var kept = new List<(double X, double Y)>(4 * columns + 4);
        Span<int> pick = stackalloc int[4];
        for (int start = 0; start < points.Length;)
        {
            double column = Math.Floor(points[start].X);
            int end = start, lo = start, hi = start;
            for (; end < points.Length && Math.Floor(points[end].X) == column; end++)
            {
                if (points[end].Y < points[lo].Y) lo = end;
                if (points[end].Y > points[hi].Y) hi = end;
            }
            pick[0] = start; pick[1] = lo; pick[2] = hi; pick[3] = end - 1;
            pick.Sort();
            for (int k = 0; k < 4; k++)
                if (k == 0 || pick[k] != pick[k - 1]) kept.Add(points[pick[k]]);
            start = end;
        }
        return [.. kept];
    }

    /// <summary>
    /// As many ticks as fit: adjacent labels at least a gap apart (two character widths across,
    /// <paramref name="minGap"/> pixels between centres up the side).
    /// </summary>
    private static List<Tick> FitTicks(AxisScale scale, int length, int minGap, int s, bool vertical)
    {
        // Start from about one tick per five characters across and thin out until labels clear each other.
        int maxTicks = Math.Max(2, length / (vertical ? minGap : 5 * BitmapFont.Advance * s));
        for (; ; maxTicks--)
        {
            List<Tick> ticks = AxisTicks.For(scale, maxTicks);
            if (maxTicks <= 2 || Fits(ticks)) return ticks;
        }

        bool Fits(List<Tick> ticks)
        {
            for (int i = 1; i < ticks.Count; i++)
            {
                double apart = (scale.Fraction(ticks[i].Value) - scale.Fraction(ticks[i - 1].Value)) * length;
                double needed = vertical
                    ? minGap
                    : (BitmapFont.Measure(ticks[i].Label, s) + BitmapFont.Measure(ticks[i - 1].Label, s)) / 2.0 + 2 * BitmapFont.Advance * s;
                if (apart < needed) return false;
            }
            return true;
        }
    }

    /// <summary>
    /// A box naming the series that have names, placed inside the plot where it hides the fewest
    /// drawn pixels: the corners first (top-right, top-left, bottom-right, bottom-left), then the
    /// middles of the sides, the first of equals winning.
    /// </summary>
    private static void DrawLegend(Raster image, PixelRect plot, IReadOnlyList<Series> series, bool[] inked, int s)
    {
        var entries = new List<(string Name, int Index)>();
        for (int i = 0; i < series.Count; i++)
            if (!string.IsNullOrEmpty(series[i].Name)) entries.Add((series[i].Name, i));
        if (entries.Count == 0) return;

        int textH = BitmapFont.Height(s), inner = 3 * s, swatch = 10 * s, gap = 3 * s, rowH = textH + 2 * s;
        int maxText = Math.Max(plot.Width / 2 - swatch - gap - 2 * inner, 0);
        var names = entries.ConvertAll(e => BitmapFont.Fit(e.Name, maxText, s));
        int w = Math.Min(2 * inner + swatch + gap + names.Max(n => BitmapFont.Measure(n, s)), plot.Width);
        int h = Math.Min(2 * inner + entries.Count * rowH - 2 * s, plot.Height);
        int inset = Math.Min(3 * s, Math.Min(plot.Width - w, plot.Height - h) / 2);

        // Summed-area table of the inked pixels: any rectangle's count in four lookups.
        int pw = plot.Width, ph = plot.Height;
        var sum = new int[(pw + 1) * (ph + 1)];
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++)
                sum[(y + 1) * (pw + 1) + x + 1] = (inked[y * pw + x] ? 1 : 0)
                    + sum[y * (pw + 1) + x + 1] + sum[(y + 1) * (pw + 1) + x] - sum[y * (pw + 1) + x];
        int Count(int x, int y) // pixels inked under a legend at plot-relative (x, y)
        {
            int x1 = x + w, y1 = y + h;
            return sum[y1 * (pw + 1) + x1] - sum[y * (pw + 1) + x1] - sum[y1 * (pw + 1) + x] + sum[y * (pw + 1) + x];
        }

        int l = inset, r = pw - inset - w, t = inset, b = ph - inset - h, cx = (pw - w) / 2, cy = (ph - h) / 2;
        (int X, int Y)[] candidates = [(r, t), (l, t), (r, b), (l, b), (r, cy), (l, cy), (cx, t), (cx, b)];
        var best = candidates[0];
        int bestCount = int.MaxValue;
        foreach (var c in candidates)
        {
            int count = Count(c.X, c.Y);
            if (count < bestCount) { bestCount = count; best = c; }
        }

        int bx = plot.X + best.X, by = plot.Y + best.Y;
        image.FillRect(bx, by, w, h, Palette.LegendFill);
        image.StrokeRect(bx, by, w, h, Palette.LegendBorder);
        int thickness = Math.Max(2, (int)Math.Round(0.9 * s));
        for (int k = 0; k < entries.Count; k++)
        {
            int rowY = by + inner + k * rowH;
            if (rowY + textH > by + h) break; // more names than fit the plot's height
            image.FillRect(bx + inner, rowY + (BitmapFont.CapHeight * s - thickness) / 2, swatch, thickness, Palette.Series(entries[k].Index));
            BitmapFont.Draw(image, bx + inner + swatch + gap, rowY, names[k], s, Palette.Text);
        }
    }
}
