namespace Hyper.Runtime.Text;

/// <summary>
/// An entry of tokenizer.json's <c>added_tokens</c>: a string matched in the text before the
/// model sees it, and emitted as its one id.
/// </summary>
/// <param name="Content">The text matched.</param>
/// <param name="Id">The id emitted.</param>
/// <param name="Special">A control token (&lt;s&gt;, &lt;|im_end|&gt;) rather than an ordinary added word.</param>
/// <param name="Normalized">Matched in the normalized text instead of the raw text.</param>
/// <param name="LStrip">The match also takes the whitespace before it.</param>
/// <param name="RStrip">The match also takes the whitespace after it.</param>
/// <param name="SingleWord">Matched only where no word char touches it on either side.</param>
internal sealed record AddedToken(string Content, int Id, bool Special, bool Normalized, bool LStrip, bool RStrip, bool SingleWord);
