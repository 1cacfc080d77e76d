namespace Hyper.Runtime.Merging;

/// <summary>
/// The greedy soup of Wortsman et al. (model soups, Algorithm 1): sort the ingredients by held-out
/// loss, start the soup with the best one, and offer each of the others in turn; it stays when the
/// uniform average of the soup with it has a held-out loss no worse than the soup without it. So the
/// final soup is never worse on the held-out data than its best ingredient (the first soup is that
/// ingredient exactly: weight 1 multiplies without rounding).
/// </summary>
public static class GreedySoup
{
    /// <summary>The outcome: the soup's recipe (uniform weights over the kept ingredients), its loss, and every try in order.</summary>
    public sealed record Result(MergeRecipe Recipe, double Loss, IReadOnlyList<GreedySoupTry> Tries);

    /// <summary>
    /// Runs the greedy soup over <paramref name="models"/>; <paramref name="loss"/> evaluates a
    /// parameter arena on the held-out data. Each candidate is built by <see cref="ModelMerger"/>,
    /// the same code that writes the result, so the soup written has exactly the reported loss.
    /// </summary>
    public static Result Run(IReadOnlyList<string> models, Func<float[], double> loss, Action<GreedySoupTry>? progress = null)
    {
        if (models.Count == 0) throw new ArgumentException("no models for the greedy soup");
        var alone = new double[models.Count];
        for (int i = 0; i < models.Count; i++)
        {
            using var one = new ModelMerger(Uniform([models[i]]));
            alone[i] = loss(one.ToArena());
        }
        // Stable: equal losses keep the order given.
        var order = Enumerable.Range(0, models.Count).OrderBy(i => alone[i]).ToArray();
        var soup = new List<string> { models[order[0]] };
        double best = alone[order[0]];
        var tries = new List<GreedySoupTry> { new(models[order[0]], best, 1, best, true) };
        progress?.Invoke(tries[0]);
        foreach (int i in order.Skip(1))
        {
            var candidate = Uniform([.. soup, models[i]]);
            double l;
            using (var merger = new ModelMerger(candidate)) l = loss(merger.ToArena());
            bool keep = l <= best;
            if (keep)
            {
                soup.Add(models[i]);
                best = l;
            }
            tries.Add(new GreedySoupTry(models[i], alone[i], candidate.Models.Count, l, keep));
            progress?.Invoke(tries[^1]);
        }
        return new Result(Uniform(soup), best, tries);
    }

    /// <summary>A uniform soup: weight 1/K (as a float) on each of K models.</summary>
    public static MergeRecipe Uniform(IReadOnlyList<string> models) =>
        new() { Models = models, Weights = Enumerable.Repeat(1f / models.Count, models.Count).ToArray() };
}
