using System.Text.Json;

namespace NpcSdk.Server
{
    /// <summary>Typed reads of request fields; a field of the wrong type or out of range is a 400 naming it.</summary>
    internal static class JsonFields
    {
        public static string Kind(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Null => "null",
            _ => "nothing",
        };

        public static OpenAiRequestException WrongType(string param, string expected, JsonElement actual) =>
            OpenAiRequestException.BadRequest($"'{param}' must be {expected}, not {Kind(actual)}", param, "invalid_type");

        /// <summary>The field, or false when it is absent or null.</summary>
        public static bool TryGet(JsonElement obj, string name, out JsonElement value) =>
            obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

        public static JsonElement RequireObject(JsonElement e, string param)
        {
            if (e.ValueKind != JsonValueKind.Object) throw WrongType(param, "an object", e);
            return e;
        }

        public static string RequireString(JsonElement obj, string name, string param)
        {
            if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
                throw OpenAiRequestException.BadRequest($"'{param}' is required", param, "missing_required_parameter");
            if (v.ValueKind != JsonValueKind.String) throw WrongType(param, "a string", v);
            return v.GetString()!;
        }

        public static string? OptionalString(JsonElement obj, string name, string param)
        {
            if (!TryGet(obj, name, out var v)) return null;
            if (v.ValueKind != JsonValueKind.String) throw WrongType(param, "a string", v);
            return v.GetString();
        }

        public static bool? OptionalBool(JsonElement obj, string name, string param)
        {
            if (!TryGet(obj, name, out var v)) return null;
            if (v.ValueKind != JsonValueKind.True && v.ValueKind != JsonValueKind.False) throw WrongType(param, "a boolean", v);
            return v.GetBoolean();
        }

        public static double? OptionalNumber(JsonElement obj, string name, string param, double min, double max)
        {
            if (!TryGet(obj, name, out var v)) return null;
            if (v.ValueKind != JsonValueKind.Number) throw WrongType(param, "a number", v);
            double d = v.GetDouble();
            if (d < min || d > max) throw OpenAiRequestException.BadRequest($"'{param}' is {d}; it must be between {min} and {max}", param, "invalid_value");
            return d;
        }

        public static long? OptionalInteger(JsonElement obj, string name, string param, long min, long max)
        {
            if (!TryGet(obj, name, out var v)) return null;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long n)) throw WrongType(param, "an integer", v);
            if (n < min) throw OpenAiRequestException.BadRequest($"'{param}' is {n}; it must be at least {min}", param, "invalid_value");
            if (n > max) throw OpenAiRequestException.BadRequest($"'{param}' is {n}; the server allows at most {max}", param, "invalid_value");
            return n;
        }
    }
}
