using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using NpcSdk.Templates;
using Xunit;

namespace NpcSdk.Tests.Templates
{
    /// <summary>
    /// The real chat templates and expected outputs of llama.cpp's tests/test-chat-template.cpp
    /// (tests/data/templates/llama_cpp_test_chat_template.json), run the way llama.cpp runs its Jinja path.
    /// </summary>
    public class LlamaCppChatTemplateCasesTests
    {
        private static readonly Lazy<JsonDocument> Data = new Lazy<JsonDocument>(() =>
            JsonDocument.Parse(File.ReadAllText(TestPaths.Data("templates", "llama_cpp_test_chat_template.json"))));

        public static IEnumerable<object[]> JinjaCases()
        {
            foreach (JsonElement c in Data.Value.RootElement.GetProperty("cases").EnumerateArray())
            {
                if (c.GetProperty("supported_with_jinja").GetBoolean()) yield return new object[] { c.GetProperty("name").GetString()! };
            }
        }

        private static JsonElement Case(string name)
        {
            foreach (JsonElement c in Data.Value.RootElement.GetProperty("cases").EnumerateArray())
            {
                if (c.GetProperty("name").GetString() == name) return c;
            }
            throw new ArgumentException("no case " + name);
        }

        private static List<ChatMessage> Conversation(JsonElement c)
        {
            var messages = new List<ChatMessage>();
            foreach (JsonElement m in Data.Value.RootElement.GetProperty("conversation").EnumerateArray()) messages.Add(new ChatMessage(m[0].GetString()!, m[1].GetString()!));
            foreach (JsonElement m in c.GetProperty("extra_conversation").EnumerateArray()) messages.Add(new ChatMessage(m[0].GetString()!, m[1].GetString()!));
            return messages;
        }

        /// <summary>llama.cpp's capability probe: does the template print a system message at all?</summary>
        private static bool SupportsSystemRole(ChatTemplate template)
        {
            try
            {
                var probe = new[] { new ChatMessage("system", "<System Needle>"), new ChatMessage("user", "Hey") };
                return template.Render(probe, false).Contains("<System Needle>");
            }
            catch (ChatTemplateException)
            {
                return false;
            }
        }

        /// <summary>llama.cpp's polyfill for templates without a system role: prepend it to the next user message.</summary>
        private static List<ChatMessage> MergeSystemIntoUser(List<ChatMessage> messages)
        {
            var result = new List<ChatMessage>();
            string pending = "";
            foreach (ChatMessage m in messages)
            {
                if (m.Role == "system")
                {
                    pending += (pending.Length > 0 ? "\n" : "") + m.Content;
                    continue;
                }
                if (pending.Length > 0)
                {
                    if (m.Role == "user")
                    {
                        result.Add(new ChatMessage("user", pending + (m.Content.Length > 0 ? "\n" + m.Content : "")));
                        pending = "";
                        continue;
                    }
                    result.Add(new ChatMessage("user", pending));
                    pending = "";
                }
                result.Add(m);
            }
            if (pending.Length > 0) result.Add(new ChatMessage("user", pending));
            return result;
        }

        [Theory]
        [MemberData(nameof(JinjaCases))]
        public void Renders_As_LlamaCpp_Expects(string name)
        {
            JsonElement c = Case(name);
            var template = ChatTemplate.Parse(c.GetProperty("template").GetString()!);
            List<ChatMessage> messages = Conversation(c);
            if (!SupportsSystemRole(template)) messages = MergeSystemIntoUser(messages);
            string expected = c.GetProperty("expected_output_jinja").GetString()!;
            if (expected.Length == 0) expected = c.GetProperty("expected_output").GetString()!;

            string actual = template.Render(messages, true, c.GetProperty("bos_token").GetString()!, c.GetProperty("eos_token").GetString()!);

            Assert.Equal(expected, actual);
        }

        [Fact]
        public void Every_LlamaCpp_Jinja_Case_Is_Run()
        {
            // 36 cases in the file; GigaChat needs additional_special_tokens, which llama.cpp skips on its Jinja path too.
            Assert.Equal(36, Data.Value.RootElement.GetProperty("cases").GetArrayLength());
            Assert.Equal(35, new List<object[]>(JinjaCases()).Count);
        }

        [Fact]
        public void GigaChat_Renders_When_Given_Its_Extra_Context()
        {
            JsonElement c = Case("ai-sage/GigaChat-20B-A3B-instruct");
            var template = ChatTemplate.Parse(c.GetProperty("template").GetString()!);
            var extra = new Dictionary<string, object?>
            {
                ["additional_special_tokens"] = new[] { "<|role_sep|>", "<|message_sep|>", "[]", "" },
            };

            string actual = template.Render(Conversation(c), true, "<s>", "", extra);

            Assert.Equal(c.GetProperty("expected_output").GetString(), actual);
        }
    }
}
