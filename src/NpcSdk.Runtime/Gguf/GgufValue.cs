using System;
using System.Globalization;

namespace NpcSdk.Gguf
{
    /// <summary>
    /// One metadata value. Arrays hold a typed .NET array (<c>string[]</c>, <c>float[]</c>, <c>int[]</c>, ...; nested
    /// arrays as <see cref="GgufValue"/>[]). Large arrays of a mapped file (a vocabulary, its merges and scores) are read
    /// from the file each time <see cref="Value"/> is asked for, not kept: keep the result if you need it twice.
    /// </summary>
    public sealed class GgufValue
    {
        private readonly object? _value;
        private readonly Func<object>? _load;
        private readonly int _count;

        /// <summary>Creates a value; <paramref name="value"/> must be the .NET type matching <paramref name="type"/>.</summary>
        public GgufValue(GgufValueType type, object value, GgufValueType elementType = GgufValueType.UInt8)
        {
            Type = type;
            _value = value ?? throw new ArgumentNullException(nameof(value));
            ElementType = elementType;
        }

        /// <summary>A large array read on demand by <paramref name="load"/>.</summary>
        internal GgufValue(GgufValueType elementType, int count, Func<object> load)
        {
            Type = GgufValueType.Array;
            ElementType = elementType;
            _count = count;
            _load = load;
        }

        /// <summary>The value's type.</summary>
        public GgufValueType Type { get; }

        /// <summary>For arrays, the element type.</summary>
        public GgufValueType ElementType { get; }

        /// <summary>The value: a boxed scalar, a string, or a typed array.</summary>
        /// <exception cref="ObjectDisposedException">A large array of a file that was closed.</exception>
        public object Value => _value ?? _load!();

        /// <summary>The number of elements of an array value (1 for scalars).</summary>
        public int Count => _load != null ? _count : _value is Array a ? a.Length : 1;

        /// <summary>Creates a string value.</summary>
        public static GgufValue Of(string s) => new GgufValue(GgufValueType.String, s);

        /// <summary>Creates an unsigned 32-bit value.</summary>
        public static GgufValue Of(uint v) => new GgufValue(GgufValueType.UInt32, v);

        /// <summary>Creates a signed 32-bit value.</summary>
        public static GgufValue Of(int v) => new GgufValue(GgufValueType.Int32, v);

        /// <summary>Creates a float value.</summary>
        public static GgufValue Of(float v) => new GgufValue(GgufValueType.Float32, v);

        /// <summary>Creates a bool value.</summary>
        public static GgufValue Of(bool v) => new GgufValue(GgufValueType.Bool, v);

        /// <summary>Creates a string array value.</summary>
        public static GgufValue Of(string[] v) => new GgufValue(GgufValueType.Array, v, GgufValueType.String);

        /// <summary>Creates a float array value.</summary>
        public static GgufValue Of(float[] v) => new GgufValue(GgufValueType.Array, v, GgufValueType.Float32);

        /// <summary>Creates an int32 array value.</summary>
        public static GgufValue Of(int[] v) => new GgufValue(GgufValueType.Array, v, GgufValueType.Int32);

        /// <summary>The value as a 64-bit integer, if it is an integer or bool scalar.</summary>
        public bool TryGetInt64(out long value)
        {
            switch (Value)
            {
                case byte b: value = b; return true;
                case sbyte sb: value = sb; return true;
                case ushort us: value = us; return true;
                case short s: value = s; return true;
                case uint ui: value = ui; return true;
                case int i: value = i; return true;
                case ulong ul when ul <= long.MaxValue: value = (long)ul; return true;
                case long l: value = l; return true;
                case bool bo: value = bo ? 1 : 0; return true;
                default: value = 0; return false;
            }
        }

        /// <summary>The value as a double, if it is a numeric scalar.</summary>
        public bool TryGetDouble(out double value)
        {
            switch (Value)
            {
                case float f: value = f; return true;
                case double d: value = d; return true;
                default:
                    bool ok = TryGetInt64(out long l);
                    value = l;
                    return ok;
            }
        }

        /// <inheritdoc/>
        public override string ToString()
        {
            if (Type == GgufValueType.Array) return $"[{ElementType} x {Count}]";
            return Value is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : Value.ToString() ?? "";
        }
    }
}
