using System.Text;
using LoadBalancer.Core.Config;

namespace LoadBalancer.Core.Management;

/// <summary>
/// A consumer's <c>keys_file</c> as the key lifecycle API edits it: line by line, so comments, blank lines and every
/// other key stay byte for byte; a changed key's line is rewritten in place (<see cref="KeysFileLine.Format"/>), a new
/// key is appended.
/// </summary>
internal sealed class KeysFile
{
    private readonly string[] _lines;

    private KeysFile(string path, byte[] bytes)
    {
        Path = path;
        Bytes = bytes;
        Text = Encoding.UTF8.GetString(bytes);
        _lines = Text.Split('\n');
    }

    public string Path { get; }

    public byte[] Bytes { get; }

    public string Text { get; }

    public static async Task<KeysFile> ReadAsync(string path, CancellationToken cancellationToken)
        => new(path, await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false));

    /// <summary>Every key line that parses, with its line index (a line that does not was refused by the last reload's validation).</summary>
    public IEnumerable<(int Index, KeysFileLine Key)> Keys()
    {
        for (var i = 0; i < _lines.Length; i++)
        {
            if (KeysFileLine.IsKey(_lines[i]) && KeysFileLine.TryParse(_lines[i].Trim(), out var key, out _))
            {
                yield return (i, key);
            }
        }
    }

    public (int Index, KeysFileLine? Key) Find(string id)
    {
        foreach (var (index, key) in Keys())
        {
            if (key.Id == id)
            {
                return (index, key);
            }
        }

        return (-1, null);
    }

    /// <summary>The file with line <paramref name="index"/> replaced by <paramref name="key"/> (its line ending kept).</summary>
    public string Replace(int index, KeysFileLine key)
    {
        var lines = (string[])_lines.Clone();
        lines[index] = key.Format() + (lines[index].EndsWith('\r') ? "\r" : "");
        return string.Join('\n', lines);
    }

    /// <summary>The file with <paramref name="key"/> as a new last line.</summary>
    public string Append(KeysFileLine key)
        => Text + (Text.Length == 0 || Text.EndsWith('\n') ? "" : "\n") + key.Format() + "\n";
}
