namespace LoadBalancer.Core.Http;

/// <summary>
/// The edits one message gets as it is encoded: lb's own (the field that carried the tenant's access key never reaches
/// the backend) and the operator's <see cref="HeaderTransform"/>, if any. The codec applies them in one pass over the
/// field table; hop-by-hop fields and lb's forwarding fields stay the codec's own rules, applied after these.
/// </summary>
public readonly struct HeaderEdits
{
    // Stored plus one, so that default(HeaderEdits) edits nothing.
    private readonly int _removeFieldPlusOne;

    public HeaderEdits(int removeField, HeaderTransform? transform)
    {
        _removeFieldPlusOne = removeField < 0 ? 0 : removeField + 1;
        Transform = transform;
    }

    /// <summary>No edits: the same as <c>default</c>.</summary>
    public static HeaderEdits None => default;

    /// <summary>Index of one field in the table to drop (the access key's), or -1.</summary>
    public int RemoveField => _removeFieldPlusOne - 1;

    public HeaderTransform? Transform { get; }

    /// <summary>The most the encoded head grows by.</summary>
    public int AddedBytes => Transform?.AddedBytes ?? 0;

    /// <summary>Whether field <paramref name="index"/>, named <paramref name="name"/>, is dropped.</summary>
    public bool Drops(int index, ReadOnlySpan<byte> name)
        => index == RemoveField || (Transform is { } transform && transform.Removes(name));
}
