using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace LoadBalancer.Core.Config;

/// <summary>
/// The fast path, a piece at a time: the file is cut at its <c>[[tenants]]</c> and <c>[[pools]]</c> headers. On a
/// reload that changed few elements, each element is taken from the previous load's <see cref="ParsedTables"/> when its
/// text, first line and index are unchanged, or parsed on its own, and the rest of the file is parsed in its pieces and
/// merged into one root. Otherwise the whole text is parsed once, and its elements are remembered with their pieces.
/// </summary>
/// <remarks>
/// Cutting the text can only turn a valid file into a refused one, never into another valid meaning: a cut inside a
/// multi-line string, array or inline table leaves that construct unterminated in the piece before it, whose parse then
/// fails. Anything the cut cannot vouch for (a piece that does not parse, a root key written in two pieces, a
/// <c>tenants</c> or <c>pools</c> key outside an element, such as a header with a comment after it) declines, and the
/// whole text goes through <see cref="TryBuildTreeFast(string)"/> as before. A tenant naming an
/// <c>access_keys_file</c> or a pool with <c>tls</c> is read every time: the validator loads those files into the section.
/// </remarks>
internal static partial class TomlConfigLoader
{
    private enum PieceKind
    {
        Other,
        Tenant,
        Pool,
    }

    /// <summary>A run of the text from a line's start; an element's carries a digest of its text.</summary>
    private readonly record struct Piece(PieceKind Kind, int Start, int End, int Line, UInt128 Hash);

    /// <summary>The file read from the fast tree, or null when that tree is refused or reading it found any error.</summary>
    public static LbConfigFile? TryLoadFast(string text, string file) => TryLoadFast(text, file, previous: null, out _);

    /// <summary>As <see cref="TryLoadFast(string, string)"/>, reusing what <paramref name="previous"/> read of unchanged elements; <paramref name="parsed"/> is for the next load.</summary>
    public static LbConfigFile? TryLoadFast(string text, string file, ParsedTables? previous, out ParsedTables? parsed)
    {
        parsed = null;
        if (HasRepeatedHeader(text))
        {
            return null;
        }

        // Each piece parsed on its own costs a parser (~5 KB) on top of its tree: worth it for the few elements a reload
        // changed, not for a first load or a rewrite, which parse the whole text once and only remember its pieces
        // (20,000 pieces one by one allocated 149 MB against 40 MB for the whole text).
        var pieces = Pieces(text);
        var errors = new ConfigErrorList(file);
        if (previous is not null && ToRead(pieces, previous) is var (toRead, elements) && toRead <= Math.Max(16, elements / 4)
            && TryLoadChunked(text, pieces, previous, errors, out parsed) is { } chunked)
        {
            // Reading found something wrong (an unknown key, a wrong type): the syntax-tree path reports it.
            parsed = errors.Count == 0 ? parsed : null;
            return errors.Count == 0 ? chunked : null;
        }

        if (errors.Count != 0 || TryLoadWhole(text, file) is not { } config)
        {
            parsed = null;
            return null;
        }

        parsed = Remember(pieces, config);
        return config;
    }

    /// <summary>The whole text through one event parse: first loads, big changes, and where the pieces decline.</summary>
    internal static LbConfigFile? TryLoadWhole(string text, string file)
    {
        if (HasRepeatedHeader(text) || TryBuildTreeFast(text, lineOffset: 0, new KeyNames()) is not { } root)
        {
            return null;
        }

        var errors = new ConfigErrorList(file);
        var config = Read(root, errors);
        return errors.Count == 0 ? config : null;
    }

    /// <summary>Elements of <paramref name="pieces"/> that <paramref name="previous"/> has nothing to give for.</summary>
    private static (int ToRead, int Elements) ToRead(List<Piece> pieces, ParsedTables previous)
    {
        int tenants = 0, pools = 0, toRead = 0;
        foreach (var piece in pieces)
        {
            var fresh = piece.Kind switch
            {
                PieceKind.Tenant => Reusable(previous.Tenants, tenants++, piece) is null,
                PieceKind.Pool => Reusable(previous.Pools, pools++, piece) is null,
                _ => false,
            };
            toRead += fresh ? 1 : 0;
        }

        return (toRead, tenants + pools);
    }

    private static T? Reusable<T>(ParsedTables.Chunk<T>[] previous, int index, Piece piece)
        where T : class
        => index < previous.Length && previous[index] is { Section: { } old } was && was.Line == piece.Line && was.Hash == piece.Hash ? old : null;

    /// <summary>
    /// The elements of a whole-text read, each with its piece: only when the pieces are exactly the file's elements, each
    /// table on its piece's first line (a <c>[[pools]]</c> line inside a multi-line string would make a piece too many).
    /// </summary>
    private static ParsedTables? Remember(List<Piece> pieces, LbConfigFile config)
    {
        var tenants = new List<ParsedTables.Chunk<LbTenantSection>>(config.Tenants.Count);
        var pools = new List<ParsedTables.Chunk<LbPoolSection>>(config.Pools.Count);
        foreach (var piece in pieces)
        {
            if (piece.Kind == PieceKind.Tenant)
            {
                if (tenants.Count >= config.Tenants.Count || config.Tenants[tenants.Count] is not { } tenant || tenant.Position.Line != piece.Line)
                {
                    return null;
                }

                tenants.Add(new(piece.Line, piece.Hash, tenant.AccessKeysFile is null ? tenant : null));
            }
            else if (piece.Kind == PieceKind.Pool)
            {
                if (pools.Count >= config.Pools.Count || config.Pools[pools.Count] is not { } pool || pool.Position.Line != piece.Line)
                {
                    return null;
                }

                pools.Add(new(piece.Line, piece.Hash, pool.Tls is null ? pool : null));
            }
        }

        return tenants.Count == config.Tenants.Count && pools.Count == config.Pools.Count ? new ParsedTables([.. tenants], [.. pools], reused: 0) : null;
    }

    /// <summary>The file read piece by piece, or null when the pieces decline (or an error was found, in <paramref name="errors"/>).</summary>
    private static LbConfigFile? TryLoadChunked(string text, List<Piece> pieces, ParsedTables previous, ConfigErrorList errors, out ParsedTables? parsed)
    {
        parsed = null;
        var keys = new KeyNames();
        var root = TomlNode.Table(SourcePosition.Start);
        var tenants = new List<ParsedTables.Chunk<LbTenantSection>>();
        var pools = new List<ParsedTables.Chunk<LbPoolSection>>();
        var tenantSections = new List<LbTenantSection>();
        var poolSections = new List<LbPoolSection>();
        var reused = 0;
        foreach (var piece in pieces)
        {
            var span = text.AsSpan(piece.Start, piece.End - piece.Start);
            if (piece.Kind == PieceKind.Other)
            {
                if (TryBuildTreeFast(span.ToString(), piece.Line - 1, keys) is not { } tree)
                {
                    return null;
                }

                foreach (var entry in tree.Entries)
                {
                    if (entry.Key is "tenants" or "pools" || root.Get(entry.Key) is not null)
                    {
                        return null;
                    }

                    root.Set(entry.Key, entry.KeyPosition, entry.Value);
                }

                continue;
            }

            if (piece.Kind == PieceKind.Tenant)
            {
                var index = tenants.Count;
                if (Reusable(previous.Tenants, index, piece) is { } old)
                {
                    tenants.Add(previous.Tenants[index]);
                    tenantSections.Add(old);
                    reused++;
                    continue;
                }

                if (Element(span, piece.Line, "tenants", keys) is not { } table)
                {
                    return null;
                }

                var tenant = ReadTenant(table, $"tenants[{index}]", errors);
                tenants.Add(new(piece.Line, piece.Hash, tenant.AccessKeysFile is null ? tenant : null));
                tenantSections.Add(tenant);
            }
            else
            {
                var index = pools.Count;
                if (Reusable(previous.Pools, index, piece) is { } old)
                {
                    pools.Add(previous.Pools[index]);
                    poolSections.Add(old);
                    reused++;
                    continue;
                }

                if (Element(span, piece.Line, "pools", keys) is not { } table)
                {
                    return null;
                }

                var pool = ReadPool(table, $"pools[{index}]", errors);
                pools.Add(new(piece.Line, piece.Hash, pool.Tls is null ? pool : null));
                poolSections.Add(pool);
            }
        }

        // The root holds no tenants or pools, so reading it reads the rest, with the global fingerprint a whole-file read gives.
        var file = Read(root, errors);
        file.Tenants.AddRange(tenantSections);
        file.Pools.AddRange(poolSections);
        parsed = new ParsedTables([.. tenants], [.. pools], reused);
        return file;
    }

    /// <summary>The one table of an element's text (<c>[[name]]</c> and its sub-tables), or null when it is not exactly that.</summary>
    private static TomlNode? Element(ReadOnlySpan<char> text, int line, string name, KeyNames keys)
    {
        if (TryBuildTreeFast(text.ToString(), line - 1, keys) is not { } tree || tree.Entries.Count != 1 || tree.Entries[0].Key != name)
        {
            return null;
        }

        return tree.Entries[0].Value is { Kind: TomlNodeKind.Array, IsTableArray: true, Items: [{ Kind: TomlNodeKind.Table } table] } ? table : null;
    }

    /// <summary>
    /// The text cut at each line that is exactly <c>[[tenants]]</c> or <c>[[pools]]</c>; an element runs to the next
    /// header that is not one of its own sub-tables (<c>[tenants.x]</c>, <c>[[tenants.routes]]</c>). Pieces start at a
    /// line's first column.
    /// </summary>
    private static List<Piece> Pieces(string text)
    {
        var pieces = new List<Piece>();
        var kind = PieceKind.Other;
        var start = 0;
        var startLine = 1;
        var line = 1;
        for (var at = 0; at < text.Length; line++)
        {
            var newline = text.IndexOf('\n', at);
            var end = newline < 0 ? text.Length : newline + 1;
            var trimmed = text.AsSpan(at, end - at).Trim();
            if (trimmed.Length > 1 && trimmed[0] == '[')
            {
                var element = trimmed.SequenceEqual("[[tenants]]") ? PieceKind.Tenant : trimmed.SequenceEqual("[[pools]]") ? PieceKind.Pool : PieceKind.Other;

                // A new element always starts a piece; an element's own sub-table, or a header outside elements, does not.
                var ownSubTable = kind != PieceKind.Other && IsSubTableOf(trimmed, kind == PieceKind.Tenant ? "tenants" : "pools");
                var next = element != PieceKind.Other ? element : ownSubTable ? kind : PieceKind.Other;
                if (element != PieceKind.Other || next != kind)
                {
                    if (at > start)
                    {
                        pieces.Add(NewPiece(text, kind, start, at, startLine));
                    }

                    kind = next;
                    start = at;
                    startLine = line;
                }
            }

            at = end;
        }

        if (text.Length > start)
        {
            pieces.Add(NewPiece(text, kind, start, text.Length, startLine));
        }

        return pieces;
    }

    private static Piece NewPiece(string text, PieceKind kind, int start, int end, int line)
        => new(kind, start, end, line, kind == PieceKind.Other ? UInt128.Zero : XxHash128.HashToUInt128(MemoryMarshal.AsBytes(text.AsSpan(start, end - start))));

    private static bool IsSubTableOf(ReadOnlySpan<char> header, string name)
    {
        var inner = header.TrimStart('[');
        return inner.Length > name.Length && inner[name.Length] == '.' && inner.StartsWith(name, StringComparison.Ordinal);
    }
}
