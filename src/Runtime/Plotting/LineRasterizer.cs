namespace Hyper.Runtime.Plotting;

/// <summary>
/// Anti-aliased strokes into a coverage mask laid over a pixel rectangle ([area.Height, area.Width]
/// floats). Coordinates are continuous image coordinates: pixel (i, j) spans [i, i+1) × [j, j+1)
/// and is sampled at its centre. Coverage is 1 within the half-width of the ideal shape and falls
/// linearly to 0 over the next pixel, a cheap box filter that looks smooth at plot line widths.
/// Overlapping strokes keep the maximum, so joints of a polyline blend once.
/// </summary>
internal static class LineRasterizer
{
    /// <summary>A segment with round caps, of width 2·<paramref name="halfWidth"/>.</summary>
    public static void Segment(float[] mask, PixelRect area, double ax, double ay, double bx, double by, double halfWidth)
    {
        double reach = halfWidth + 0.5;
        double dx = bx - ax, dy = by - ay;
        // Walk along the major axis and only visit the pixels near the line across it, so the
        // work is proportional to the segment's length, not to its bounding box.
        if (Math.Abs(dx) >= Math.Abs(dy))
        {
            double slope = dx == 0 ? 0 : dy / dx;
            double across = reach * Math.Sqrt(1 + slope * slope) + 1;
            int c0 = Math.Max(area.X, (int)Math.Floor(Math.Min(ax, bx) - reach));
            int c1 = Math.Min(area.Right - 1, (int)Math.Ceiling(Math.Max(ax, bx) + reach));
            for (int px = c0; px <= c1; px++)
            {
                double t = dx == 0 ? 0 : Math.Clamp((px + 0.5 - ax) / dx, 0, 1);
                double yc = ay + t * dy;
                int r0 = Math.Max(area.Y, (int)Math.Floor(yc - across));
                int r1 = Math.Min(area.Bottom - 1, (int)Math.Ceiling(yc + across));
                for (int py = r0; py <= r1; py++) Cover(mask, area, px, py, ax, ay, dx, dy, halfWidth);
            }
        }
        else
        {
            double slope = dx / dy;
            double across = reach * Math.Sqrt(1 + slope * slope) + 1;
            int r0 = Math.Max(area.Y, (int)Math.Floor(Math.Min(ay, by) - reach));
            int r1 = Math.Min(area.Bottom - 1, (int)Math.Ceiling(Math.Max(ay, by) + reach));
            for (int py = r0; py <= r1; py++)
            {
                double t = Math.Clamp((py + 0.5 - ay) / dy, 0, 1);
                double xc = ax + t * dx;
                int c0 = Math.Max(area.X, (int)Math.Floor(xc - across));
                int c1 = Math.Min(area.Right - 1, (int)Math.Ceiling(xc + across));
                for (int px = c0; px <= c1; px++) Cover(mask, area, px, py, ax, ay, dx, dy, halfWidth);
            }
        }
    }

    /// <summary>A filled disc (a point marker).</summary>
    public static void Disc(float[] mask, PixelRect area, double cx, double cy, double radius)
    {
        int c0 = Math.Max(area.X, (int)Math.Floor(cx - radius - 1)), c1 = Math.Min(area.Right - 1, (int)Math.Ceiling(cx + radius + 1));
        int r0 = Math.Max(area.Y, (int)Math.Floor(cy - radius - 1)), r1 = Math.Min(area.Bottom - 1, (int)Math.Ceiling(cy + radius + 1));
        for (int py = r0; py <= r1; py++)
            for (int px = c0; px <= c1; px++) Cover(mask, area, px, py, cx, cy, 0, 0, radius);
    }

    private static void Cover(float[] mask, PixelRect area, int px, int py, double ax, double ay, double dx, double dy, double halfWidth)
    {
        double qx = px + 0.5 - ax, qy = py + 0.5 - ay;
        double len2 = dx * dx + dy * dy;
        double t = len2 == 0 ? 0 : Math.Clamp((qx * dx + qy * dy) / len2, 0, 1);
        double ex = qx - t * dx, ey = qy - t * dy;
        float c = (float)Math.Clamp(halfWidth + 0.5 - Math.Sqrt(ex * ex + ey * ey), 0, 1);
        int i = (py - area.Y) * area.Width + (px - area.X);
        if (c > mask[i]) mask[i] = c;
    }
}
