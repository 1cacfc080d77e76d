namespace Hyper.Runtime.Plotting;

/// <summary>One set of axes: a title, axis labels and the series drawn on them.</summary>
/// <param name="Title">Text above the axes; may be empty.</param>
/// <param name="XLabel">Text under the horizontal axis; may be empty.</param>
/// <param name="YLabel">Text beside the vertical axis (read bottom to top); may be empty.</param>
/// <param name="Series">Lines sharing these axes; may be empty.</param>
/// <param name="LogY">Whether the vertical axis is logarithmic (non-positive values are then skipped).</param>
public sealed record Panel(string Title, string XLabel, string YLabel, IReadOnlyList<Series> Series, bool LogY = false);
