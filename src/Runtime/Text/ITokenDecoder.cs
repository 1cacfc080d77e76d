namespace Hyper.Runtime.Text;

/// <summary>
/// Decodes ids one at a time. A token may end in the middle of a UTF-8 character (a byte token
/// always can; a GPT-2 token can too), so the bytes of an unfinished character are held back
/// until the tokens that complete it arrive. The concatenation of everything returned by
/// <see cref="Append"/> and then <see cref="Flush"/> equals <see cref="ITokenizer.Decode"/> of all the ids.
/// </summary>
public interface ITokenDecoder
{
    /// <summary>Adds one id and returns the text that became complete (possibly empty).</summary>
    string Append(int id);

    /// <summary>Ends the stream: returns what is still held back (an unfinished character becomes U+FFFD) and resets.</summary>
    string Flush();
}
