using System.Text.Json;
using NpcSdk.Grammars;
using Xunit;

namespace NpcSdk.Tests.Grammar
{
    using Grammar = NpcSdk.Grammars.Grammar;

    public sealed class JsonSchemaGrammarTests
    {
        private const string Sale = @"{
            ""type"": ""object"",
            ""properties"": {
                ""item"": {""type"": ""string"", ""enum"": [""iron sword"", ""horseshoe"", ""iron shield""]},
                ""price"": {""type"": ""integer"", ""minimum"": 0}
            },
            ""required"": [""item"", ""price""]
        }";

        [Theory]
        [InlineData("{\"item\": \"iron sword\", \"price\": 12}")]
        [InlineData("{\"item\": \"horseshoe\", \"price\": 0}")]
        [InlineData("{\"item\": \"iron shield\", \"price\": 123456789012345}")]
        public void Object_With_Enum_And_Integer_Accepts_Valid_Json(string json)
        {
            Assert.True(Grammar.FromJsonSchema(Sale).Matches(json));
            JsonDocument.Parse(json).Dispose();
        }

        [Theory]
        [InlineData("{\"item\": \"wooden sword\", \"price\": 12}")]   // not in the enum
        [InlineData("{\"item\": \"iron\", \"price\": 12}")]           // a prefix of an enum value
        [InlineData("{\"item\": \"iron sword\", \"price\": -1}")]      // minimum 0: no sign
        [InlineData("{\"item\": \"iron sword\", \"price\": 012}")]     // leading zero
        [InlineData("{\"item\": \"iron sword\", \"price\": 1.5}")]     // not an integer
        [InlineData("{\"item\": \"iron sword\", \"price\": \"12\"}")]  // a string
        [InlineData("{\"price\": 12, \"item\": \"iron sword\"}")]      // properties out of order
        [InlineData("{\"item\": \"iron sword\"}")]                     // required property missing
        [InlineData("{\"item\":\"iron sword\",\"price\":12}")]         // not the model's spacing
        [InlineData("{ \"item\": \"iron sword\", \"price\": 12 }")]
        [InlineData("{\"item\": \"iron sword\", \"price\": 1234567890123456}")] // more than 15 digits
        [InlineData("{\"item\": \"iron sword\", \"price\": 12, \"extra\": 1}")]
        public void Object_With_Enum_And_Integer_Rejects_Invalid_Json(string json)
        {
            Assert.False(Grammar.FromJsonSchema(Sale).Matches(json));
        }

        [Fact]
        public void Strings_Take_Unicode_And_Escapes_But_Not_Raw_Controls()
        {
            var g = Grammar.FromJsonSchema("{\"type\": \"string\"}");
            Assert.True(g.Matches("\"\""));
            Assert.True(g.Matches("\"Grüße, 🙂 \\\"friend\\\" \\\\ \\n \\u00e9 \\ud83d\\ude00\""));
            Assert.False(g.Matches("\"a\nb\""));
            Assert.False(g.Matches("\"a\\qb\""));
            Assert.False(g.Matches("\"\\ud83d\""));      // a lone surrogate escape
            Assert.False(g.Matches("\"open"));
            Assert.False(g.Matches("\"a\"b\""));
        }

        [Fact]
        public void String_Length_Counts_Characters()
        {
            var g = Grammar.FromJsonSchema("{\"type\": \"string\", \"minLength\": 2, \"maxLength\": 3}");
            Assert.False(g.Matches("\"a\""));
            Assert.True(g.Matches("\"ab\""));
            Assert.True(g.Matches("\"é🙂\\n\""));
            Assert.False(g.Matches("\"abcd\""));
        }

        [Fact]
        public void Numbers_Booleans_Null_And_Const()
        {
            var n = Grammar.FromJsonSchema("{\"type\": \"number\"}");
            foreach (string ok in new[] { "0", "-1", "3.25", "1e5", "-0.5E-3", "12.0" }) Assert.True(n.Matches(ok), ok);
            foreach (string bad in new[] { "01", "1.", ".5", "+1", "1e", "NaN" }) Assert.False(n.Matches(bad), bad);
            var b = Grammar.FromJsonSchema("{\"type\": \"boolean\"}");
            Assert.True(b.Matches("true"));
            Assert.True(b.Matches("false"));
            Assert.False(b.Matches("True"));
            var c = Grammar.FromJsonSchema("{\"const\": {\"mode\": \"calm\", \"level\": [1, 2]}}");
            Assert.True(c.Matches("{\"mode\": \"calm\", \"level\": [1, 2]}"));
            Assert.False(c.Matches("{\"mode\": \"calm\", \"level\": [1, 3]}"));
            var nullable = Grammar.FromJsonSchema("{\"type\": [\"integer\", \"null\"]}");
            Assert.True(nullable.Matches("null"));
            Assert.True(nullable.Matches("-7"));
        }

        [Fact]
        public void Enum_Strings_Accept_Raw_Or_Escaped_Non_Ascii()
        {
            var g = Grammar.FromJsonSchema("{\"enum\": [\"café\", \"tea\", 3, null]}");
            Assert.True(g.Matches("\"café\""));
            Assert.True(g.Matches("\"caf\\u00e9\""));
            Assert.True(g.Matches("\"tea\""));
            Assert.True(g.Matches("3"));
            Assert.True(g.Matches("null"));
            Assert.False(g.Matches("\"cafe\""));
        }

        [Fact]
        public void Optional_Properties_May_Be_Left_Out_In_Order()
        {
            var g = Grammar.FromJsonSchema(@"{""type"": ""object"", ""properties"": {
                ""a"": {""type"": ""integer""}, ""b"": {""type"": ""boolean""}, ""c"": {""type"": ""string""}}, ""required"": [""b""]}");
            Assert.True(g.Matches("{\"b\": true}"));
            Assert.True(g.Matches("{\"a\": 1, \"b\": true}"));
            Assert.True(g.Matches("{\"b\": false, \"c\": \"x\"}"));
            Assert.True(g.Matches("{\"a\": 1, \"b\": true, \"c\": \"x\"}"));
            Assert.False(g.Matches("{\"a\": 1}"));
            Assert.False(g.Matches("{\"a\": 1, \"c\": \"x\"}"));
            Assert.False(g.Matches("{, \"b\": true}"));
            var none = Grammar.FromJsonSchema(@"{""type"": ""object"", ""properties"": {""a"": {""type"": ""integer""}}}");
            Assert.True(none.Matches("{}"));
            Assert.True(none.Matches("{\"a\": 5}"));
        }

        [Fact]
        public void Arrays_And_Nested_Objects()
        {
            var g = Grammar.FromJsonSchema(@"{""type"": ""array"", ""minItems"": 1, ""maxItems"": 2,
                ""items"": {""type"": ""object"", ""properties"": {""n"": {""type"": ""string""}}, ""required"": [""n""]}}");
            Assert.False(g.Matches("[]"));
            Assert.True(g.Matches("[{\"n\": \"x\"}]"));
            Assert.True(g.Matches("[{\"n\": \"x\"}, {\"n\": \"y\"}]"));
            Assert.False(g.Matches("[{\"n\": \"x\"}, {\"n\": \"y\"}, {\"n\": \"z\"}]"));
        }

        [Fact]
        public void Empty_Schema_Is_Any_Json_Value()
        {
            var g = Grammar.FromJsonSchema("{}");
            Assert.True(g.Matches("{\"a\": [1, {\"b\": null}], \"c\": \"d\"}"));
            Assert.True(g.Matches("[]"));
            Assert.False(g.Matches("{\"a\" 1}"));
        }

        [Theory]
        [InlineData("{\"type\": \"string\", \"pattern\": \"^a+$\"}", "schema #: keyword 'pattern' is not supported")]
        [InlineData("{\"type\": \"object\", \"properties\": {\"when\": {\"type\": \"string\", \"format\": \"date\"}}}", "schema #/properties/when: keyword 'format'")]
        [InlineData("{\"type\": \"object\", \"properties\": {\"a\": {}}, \"required\": [\"b\"]}", "'\"b\"' is not one of the properties")]
        [InlineData("{\"type\": \"strin\"}", "unknown type 'strin'")]
        [InlineData("{\"type\": \"string\",}", "invalid JSON at offset 18: expected a property name")]
        public void Unsupported_Or_Invalid_Schemas_Throw_With_Their_Path(string schema, string message)
        {
            var e = Assert.Throws<GrammarFormatException>(() => Grammar.FromJsonSchema(schema));
            Assert.Contains(message, e.Message);
        }
    }
}
