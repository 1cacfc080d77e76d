using System.CommandLine;
using System.Text.Json;
using Hyper.Runtime.IO;
using Hyper.Runtime.Text;

namespace Hyper.Cli.Commands;

/// <summary>`hyper tokenize`: the token ids a model folder's tokenizer gives a text.</summary>
public static class TokenizeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = "Model folder: its tokenizer.json (Hugging Face: byte-level BPE or SentencePiece-style BPE with byte fallback), " +
                "else the tokenizer its hyper.json names (byte or gpt2).",
            Required = true,
        };
        var text = new Option<string>("--text") { Description = "The text to tokenize." };
        var file = new Option<string>("--file") { Description = "A UTF-8 text file to tokenize, as one stream (as eval and train read a corpus)." };
        var json = new Option<bool>("--json") { Description = "Print {\"ids\": [...]} instead of the ids separated by spaces." };
        var cmd = new Command("tokenize",
            "Print the token ids of a text under a model folder's tokenizer. No special tokens are added (no beginning-of-sequence id): " +
            "the ids are those of the text itself, the same ones eval and train see for a corpus.")
        {
            model, text, file, json,
        };
        cmd.SetAction(r =>
        {
            string dir = r.GetValue(model)!;
            if (!Directory.Exists(dir)) throw new CliException($"{dir}: no such model folder");
            string? t = r.GetValue(text), f = r.GetValue(file);
            if ((t is null) == (f is null)) throw new CliException("give exactly one of --text and --file");
            if (f is not null && !File.Exists(f)) throw new CliException($"{f}: no such file");
            ITokenizer tokenizer;
            if (ModelTokenizer.HasTokenizerJson(dir)) tokenizer = HuggingFaceTokenizer.Load(dir);
            else if (Checkpoint.IsCheckpoint(dir)) tokenizer = ModelTokenizer.Of(dir, Checkpoint.ReadState(dir, Checkpoint.ReadConfig(dir)));
            else throw new CliException($"{dir}: no tokenizer.json and no config.json to infer a tokenizer from");
            var ids = tokenizer.Encode(t ?? File.ReadAllText(f!));
            Console.WriteLine(r.GetValue(json) ? JsonSerializer.Serialize(new { ids }) : string.Join(' ', ids));
            return 0;
        });
        return cmd;
    }
}
