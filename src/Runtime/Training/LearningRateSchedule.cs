namespace Hyper.Runtime.Training;

/// <summary>Learning rate as a function of the step: linear warm-up, then constant or cosine decay.</summary>
public sealed record LearningRateSchedule(float MaxLr, int WarmupSteps, int TotalSteps, bool Cosine, float MinLrFraction = 0.1f)
{
    /// <summary>The rate for 0-based step <paramref name="step"/>.</summary>
    public float At(int step)
    {
        if (step < WarmupSteps) return MaxLr * (step + 1) / WarmupSteps;
        if (!Cosine || TotalSteps <= WarmupSteps) return MaxLr;
        // Cosine from MaxLr down to MinLrFraction·MaxLr at the last step (llm.c's schedule).
        double progress = Math.Clamp((double)(step - WarmupSteps) / (TotalSteps - WarmupSteps), 0, 1);
        double min = MaxLr * MinLrFraction;
        return (float)(min + 0.5 * (1 + Math.Cos(Math.PI * progress)) * (MaxLr - min));
    }
}
