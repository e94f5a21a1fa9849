using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using NpcSdk.Templates;
using Xunit;

namespace NpcSdk.Tests.Templates
{
    /// <summary>
    /// Jinja features one by one, against outputs of the reference Jinja2 under transformers' settings
    /// (tests/data/templates/jinja_reference_cases.json, made by generate_jinja_reference_cases.py beside it).
    /// </summary>
    public class JinjaReferenceCasesTests
    {
        private static readonly Lazy<JsonDocument> Data = new Lazy<JsonDocument>(() =>
            JsonDocument.Parse(File.ReadAllText(TestPaths.Data("templates", "jinja_reference_cases.json"))));

        private static IEnumerable<object[]> Names(string section)
        {
            foreach (JsonElement c in Data.Value.RootElement.GetProperty(section).EnumerateArray()) yield return new object[] { c.GetProperty("name").GetString()! };
        }

        public static IEnumerable<object[]> Cases() => Names("cases");

        public static IEnumerable<object[]> ErrorCases() => Names("errors");

        private static JsonElement Find(string section, string name)
        {
            foreach (JsonElement c in Data.Value.RootElement.GetProperty(section).EnumerateArray())
            {
                if (c.GetProperty("name").GetString() == name) return c;
            }
            throw new ArgumentException("no case " + name);
        }

        private static string Render(JsonElement c)
        {
            var extra = new Dictionary<string, object?>();
            foreach (JsonProperty p in c.GetProperty("context").EnumerateObject()) extra[p.Name] = p.Value;
            return ChatTemplate.Parse(c.GetProperty("template").GetString()!).Render(Array.Empty<ChatMessage>(), false, "", "", extra);
        }

        [Theory]
        [MemberData(nameof(Cases))]
        public void Renders_As_Jinja2_Does(string name)
        {
            JsonElement c = Find("cases", name);

            Assert.Equal(c.GetProperty("expected").GetString(), Render(c));
        }

        [Theory]
        [MemberData(nameof(ErrorCases))]
        public void Fails_Where_Jinja2_Fails(string name)
        {
            JsonElement c = Find("errors", name);

            var e = Assert.Throws<ChatTemplateException>(() => Render(c));

            Assert.Equal(c.GetProperty("raised_by_template").GetBoolean(), e.RaisedByTemplate);
            Assert.True(e.Line >= 1 && e.Column >= 1, "error position missing: " + e.Message);
        }
    }
}
