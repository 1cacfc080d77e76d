namespace Hyper.Runtime.Plotting;

/// <summary>The visible range of one axis, linear or base-10 logarithmic, and the map to 0..1.</summary>
internal readonly record struct AxisScale(double Min, double Max, bool Log)
{
    /// <summary>Where <paramref name="v"/> falls along the axis: 0 at Min, 1 at Max.</summary>
    public double Fraction(double v) => Log
        ? (Math.Log10(v) - Math.Log10(Min)) / (Math.Log10(Max) - Math.Log10(Min))
        : (v - Min) / (Max - Min);

    /// <summary>
    /// The range for data spanning [lo, hi], widened by <paramref name="margin"/> of the span on each
    /// side (in log space for a log axis) so lines do not run along the frame. No data (lo &gt; hi)
    /// gives a unit range; a single value gets a band around it, since a zero span has no scale.
    /// </summary>
    public static AxisScale Fit(double lo, double hi, bool log, double margin)
    {
        if (lo > hi) return log ? new AxisScale(1, 10, true) : new AxisScale(0, 1, false);
        if (log)
        {
            double a = Math.Log10(lo), b = Math.Log10(hi);
            if (b - a < 1e-12) return new AxisScale(lo / 2, hi * 2, true);
            double m = (b - a) * margin;
            return new AxisScale(Math.Pow(10, a - m), Math.Pow(10, b + m), true);
        }
        double span = hi - lo;
        // Relative test: a span below ~1e-12 of the magnitude is rounding noise, not a scale to show.
        if (span <= 1e-12 * Math.Max(Math.Abs(lo), Math.Abs(hi)) || span == 0)
        {
            double d = lo != 0 ? Math.Abs(lo) * 0.1 : 1;
            return new AxisScale(lo - d, hi + d, false);
        }
        return new AxisScale(lo - span * margin, hi + span * margin, false);
    }
}
