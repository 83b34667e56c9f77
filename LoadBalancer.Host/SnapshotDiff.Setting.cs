using System.Globalization;
using LoadBalancer.Core.Config;

namespace LoadBalancer.Host;

internal static partial class SnapshotDiff
{
    /// <summary>
    /// One rendered setting, kept unformatted (a number, a duration, a share, a short list) so that the entities a
    /// reload left alone compare without making strings; <see cref="ToString"/> is the text the diff prints.
    /// </summary>
    private readonly struct Setting : IEquatable<Setting>
    {
        private readonly SettingKind _kind;
        private readonly string? _text;
        private readonly List<string>? _items;
        private readonly long _first;
        private readonly long _second;

        private Setting(SettingKind kind, string? text = null, long first = 0, long second = 0, List<string>? items = null)
        {
            _kind = kind;
            _text = text;
            _first = first;
            _second = second;
            _items = items;
        }

        private enum SettingKind : byte
        {
            Text,
            Number,
            Duration,
            Share,
            RateLimit,
            Items,
            Backend,
        }

        /// <summary>A backend of a pool: keyed by its address, valued by its weight (added, removed or reweighted).</summary>
        public bool IsEntry => _kind == SettingKind.Backend;

        public static implicit operator Setting(string? text) => new(SettingKind.Text, text);

        public static Setting Number(long value) => new(SettingKind.Number, first: value);

        public static Setting Duration(TimeSpan value) => new(SettingKind.Duration, first: value.Ticks);

        public static Setting Share(double value) => new(SettingKind.Share, first: BitConverter.DoubleToInt64Bits(value));

        public static Setting RateLimit(long requestsPerSecond, long burst, bool clusterWide) => new(SettingKind.RateLimit, clusterWide ? " (cluster-wide)" : "", requestsPerSecond, burst);

        /// <summary>Distinct strings in any order, printed sorted.</summary>
        public static Setting Items(List<string> items) => new(SettingKind.Items, items: items);

        public static Setting Backend(long weight) => new(SettingKind.Backend, first: weight);

        public string Label(string key) => _kind == SettingKind.Backend ? $"backend {key}" : key;

        public bool Equals(Setting other)
        {
            if (_kind != other._kind)
            {
                return false;
            }

            return _kind switch
            {
                SettingKind.Text => string.Equals(_text, other._text, StringComparison.Ordinal),
                SettingKind.RateLimit => _first == other._first && _second == other._second && string.Equals(_text, other._text, StringComparison.Ordinal),
                SettingKind.Items => SameItems(_items!, other._items!),
                _ => _first == other._first,
            };
        }

        public override bool Equals(object? obj) => obj is Setting other && Equals(other);

        public override int GetHashCode() => HashCode.Combine(_kind, _first, _second, _text);

        public override string ToString() => _kind switch
        {
            SettingKind.Number or SettingKind.Backend => _first.ToString(CultureInfo.InvariantCulture),
            SettingKind.Duration => ConfigSyntax.FormatDuration(TimeSpan.FromTicks(_first)),
            SettingKind.Share => BitConverter.Int64BitsToDouble(_first).ToString(CultureInfo.InvariantCulture),
            SettingKind.RateLimit => string.Create(CultureInfo.InvariantCulture, $"{{ requests_per_second = {_first}, burst = {_second} }}{_text}"),
            SettingKind.Items => $"[{string.Join(", ", _items!.Order(StringComparer.Ordinal))}]",
            _ => _text ?? "",
        };

        private static bool SameItems(List<string> a, List<string> b)
        {
            if (a.Count != b.Count)
            {
                return false;
            }

            foreach (var item in a)
            {
                if (!b.Contains(item))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
