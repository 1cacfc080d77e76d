using System.CommandLine;
using System.Text.Json;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Data;
using Hyper.Runtime.IO;
using Hyper.Runtime.Text;
using Hyper.Runtime.Training;

namespace Hyper.Cli.Commands;

/// <summary>`hyper eval`: held-out loss and perplexity of a checkpoint.</summary>
public static class EvalCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint folder: ours, or a Hugging Face folder as downloaded (model_type gpt2, llama, mistral, qwen2, qwen3).", Required = true };
        var data = new Option<string>("--data") { Description = "Text file or llm.c token shard to evaluate on. Text is tokenized as one stream, no special tokens added, with the model folder's tokenizer.json when it has one (else the tokenizer hyper.json names).", Required = true };
        var seq = new Option<int>("--seq") { Description = "Window length T (default: the model's n_positions)." };
        var maxWindows = new Option<int>("--max-windows") { Description = "Evaluate only the first N windows (0 = all)." };
        var batch = new Option<int>("--batch") { Description = "Windows per forward pass.", DefaultValueFactory = _ => 8 };
        var device = new Option<string>("--device") { Description = $"Backend: {string.Join(", ", BackendRegistry.Names)}.", DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: loss, perplexity, tokens." };
        var cmd = new Command("eval",
            "Mean next-token cross-entropy over consecutive windows: window k takes inputs tokens[kT, kT+T) and targets tokens[kT+1, kT+T+1), " +
            "for every k with kT+T+1 <= N; and the perplexity exp(loss).")
        {
            model, data, seq, maxWindows, batch, device, json,
        };
        var attention = new HyperAttentionOptions();
        attention.AddTo(cmd);
        var weights = new WeightsOption();
        weights.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var format = weights.Read(r);
            string dir = r.GetValue(model)!;
            if (!Checkpoint.IsCheckpoint(dir)) throw new CliException($"{dir}: not a checkpoint folder (no config.json)");
            using var backend = BackendRegistry.Create(r.GetValue(device)!);
            LowPrecision.Use(backend, format);
            var (m, state) = Checkpoint.Load(dir, backend);
            using var _ = m;
            attention.Read(r)?.Apply(m);
            string dataPath = r.GetValue(data)!;
            var tokens = TokenCorpus.Load(dataPath, ModelTokenizer.Of(dir, state));
            int T = r.GetValue(seq) == 0 ? m.Config.Context : r.GetValue(seq);
            if (T < 1 || T > m.Config.Context) throw new CliException($"--seq {T} is outside 1..{m.Config.Context} (the model's n_positions)");
            if (tokens.Length < T + 1) throw new CliException($"{dataPath}: {tokens.Length} tokens are fewer than one window of {T + 1} (--seq {T})");
            int max = r.GetValue(maxWindows) <= 0 ? int.MaxValue : r.GetValue(maxWindows);
            if (r.GetValue(batch) < 1) throw new CliException("--batch must be at least 1");
            var result = Evaluator.Evaluate(m, tokens, T, max, r.GetValue(batch));
            if (!double.IsFinite(result.Loss))
                throw new CliException($"{dir}: the loss on {dataPath} is {result.Loss} (the weights are finite, but the activations overflow float32: a run that diverged?)");
            if (r.GetValue(json))
                // A finite loss above ~709 nats has an infinite perplexity: written "Infinity", as generate writes its numbers (GenerationJson).
                Console.WriteLine(JsonSerializer.Serialize(new { loss = result.Loss, perplexity = result.Perplexity, tokens = result.Tokens, windows = result.Windows }, GenerationJson.Options));
            else
                Console.WriteLine($"loss {result.Loss:F5} nats/token, perplexity {result.Perplexity:F3} over {result.Tokens:N0} tokens ({result.Windows} windows of {T})");
            return 0;
        });
        return cmd;
    }
}
