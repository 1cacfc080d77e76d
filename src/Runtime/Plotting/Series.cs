namespace Hyper.Runtime.Plotting;

/// <summary>
/// One line of a plot: points (X[i], Y[i]) joined in the order given. Non-finite points (NaN, ±∞),
/// and on a log axis non-positive ones, are skipped and the line joins their neighbours, so a metric
/// recorded only every N steps can share the step axis with one recorded every step.
/// </summary>
/// <param name="Name">Legend text; an empty name keeps the series out of the legend.</param>
/// <param name="X">Horizontal coordinates; the same count as <paramref name="Y"/>.</param>
/// <param name="Y">Vertical coordinates.</param>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y)
{
    /// <summary>A series whose X is x0, x0 + dx, x0 + 2·dx, … (e.g. steps or epochs).</summary>
    public static Series Indexed(string name, IReadOnlyList<double> y, double x0 = 0, double dx = 1)
    {
        ArgumentNullException.ThrowIfNull(y);
        var x = new double[y.Count];
        for (int i = 0; i < x.Length; i++) x[i] = x0 + i * dx;
        return new Series(name, x, y);
    }
}
