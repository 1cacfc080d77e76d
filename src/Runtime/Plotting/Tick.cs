namespace Hyper.Runtime.Plotting;

/// <summary>A labelled position on an axis.</summary>
internal readonly record struct Tick(double Value, string Label);
