using System.Collections.Generic;
using NpcSdk.Gguf;
using NpcSdk.Templates;
using Xunit;

namespace NpcSdk.Tests.Templates
{
    /// <summary>The ChatML fallback and the bundled NPC model's own template (models/README: the NPC prompt format).</summary>
    public class ChatMlTemplateTests
    {
        private static readonly ChatMessage[] Conversation =
        {
            new ChatMessage("system", "You are Brom Ironhand, the blacksmith of Oakvale.\nPlayer gold: 35"),
            new ChatMessage("user", "I'll buy the iron sword."),
            new ChatMessage("assistant", "A fine choice. That's 12 gold.")
            {
                ToolCalls = new[] { new ChatToolCall("sell_item", "{\"item\": \"iron sword\", \"price\": 12}") },
            },
            new ChatMessage("tool", "{\"ok\": true, \"item\": \"iron sword\", \"player_gold\": 23}"),
        };

        // Written out from models/README.md's example.
        private const string ExpectedPrompt =
            "<|im_start|>system\nYou are Brom Ironhand, the blacksmith of Oakvale.\nPlayer gold: 35<|im_end|>\n" +
            "<|im_start|>user\nI'll buy the iron sword.<|im_end|>\n" +
            "<|im_start|>assistant\nA fine choice. That's 12 gold.\n" +
            "<tool_call>{\"name\": \"sell_item\", \"arguments\": {\"item\": \"iron sword\", \"price\": 12}}</tool_call><|im_end|>\n" +
            "<|im_start|>tool\n{\"ok\": true, \"item\": \"iron sword\", \"player_gold\": 23}<|im_end|>\n" +
            "<|im_start|>assistant\n";

        [Fact]
        public void ChatMl_Renders_The_Npc_Format_With_Inline_Tool_Calls()
        {
            Assert.Equal(ExpectedPrompt, ChatTemplate.ChatMl.Render(Conversation, true));
        }

        [Fact]
        public void ChatMl_Without_Generation_Prompt_Ends_After_The_Last_Message()
        {
            var messages = new[] { new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello, traveller.") };

            Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello, traveller.<|im_end|>\n", ChatTemplate.ChatMl.Render(messages, false));
        }

        [Fact]
        public void ChatMl_Tool_Call_Without_Text_Starts_The_Message()
        {
            var message = new ChatMessage("assistant", "") { ToolCalls = new[] { new ChatToolCall("follow_player", "{}") } };

            Assert.Equal("<|im_start|>assistant\n<tool_call>{\"name\": \"follow_player\", \"arguments\": {}}</tool_call><|im_end|>\n",
                ChatTemplate.ChatMl.Render(new[] { message }, false));
        }

        [Fact]
        public void ChatMl_Does_Not_Print_A_Bos()
        {
            Assert.False(ChatTemplate.ChatMl.PrintsBosToken);
            Assert.StartsWith("<|im_start|>", ChatTemplate.ChatMl.Render(Conversation, true, "<s>", "<|im_end|>"));
        }

        [Fact]
        public void Npc_Model_Template_From_Gguf_Agrees_With_ChatMl_On_Plain_Messages()
        {
            using GgufFile file = GgufFile.Open(TestPaths.Model("npc-q8_0.gguf"));
            ChatTemplate? template = ChatTemplate.FromGguf(file);

            Assert.NotNull(template);
            Assert.False(template!.PrintsBosToken);
            var plain = new List<ChatMessage>
            {
                new ChatMessage("system", "You are Mira, the innkeeper."),
                new ChatMessage("user", "A room, please."),
                new ChatMessage("assistant", "Two silver a night."),
                new ChatMessage("user", "Deal."),
            };
            string expected =
                "<|im_start|>system\nYou are Mira, the innkeeper.<|im_end|>\n<|im_start|>user\nA room, please.<|im_end|>\n" +
                "<|im_start|>assistant\nTwo silver a night.<|im_end|>\n<|im_start|>user\nDeal.<|im_end|>\n<|im_start|>assistant\n";
            Assert.Equal(expected, template.Render(plain, true, "<s>", "</s>"));
            Assert.Equal(expected, ChatTemplate.ChatMl.Render(plain, true, "<s>", "</s>"));
        }

        [Fact]
        public void FromGguf_Is_Null_When_The_Model_Has_No_Template()
        {
            using GgufFile file = GgufFile.Open(TestPaths.Data("models", "stories260K.gguf"));

            Assert.Null(ChatTemplate.FromGguf(file));
        }

        [Fact]
        public void Extra_Variables_Accept_Dotnet_Collections()
        {
            var template = ChatTemplate.Parse("{% for t in tools %}{{ t.name }}({{ t.args | join(', ') }}){{ ';' if not loop.last }}{% endfor %}|{{ flag }}|{{ n + 1 }}|{{ x | tojson }}");
            var extra = new Dictionary<string, object?>
            {
                ["tools"] = new[]
                {
                    new Dictionary<string, object?> { ["name"] = "sell_item", ["args"] = new[] { "item", "price" } },
                    new Dictionary<string, object?> { ["name"] = "follow_player", ["args"] = new string[0] },
                },
                ["flag"] = true,
                ["n"] = 41,
                ["x"] = new Dictionary<string, object?> { ["f"] = 0.5f, ["none"] = null },
            };

            Assert.Equal("sell_item(item, price);follow_player()|True|42|{\"f\": 0.5, \"none\": null}", template.Render(new ChatMessage[0], false, extra: extra));
        }

        [Fact]
        public void Messages_Expose_Name_And_Tool_Call_Id_Only_When_Set()
        {
            var template = ChatTemplate.Parse("{% for m in messages %}{{ m.name is defined }}{{ 'tool_call_id' in m }}{{ 'tool_calls' in m }};{% endfor %}");
            var messages = new[]
            {
                new ChatMessage("user", "hi"),
                new ChatMessage("tool", "{}") { Name = "sell_item", ToolCallId = "abc" },
                new ChatMessage("assistant", "") { ToolCalls = new[] { new ChatToolCall("x", "not json") } },
            };

            Assert.Equal("FalseFalseFalse;TrueTrueFalse;FalseFalseTrue;", template.Render(messages, false));
        }

        [Fact]
        public void Tool_Call_Arguments_That_Are_Not_Json_Pass_Through_As_Text()
        {
            var template = ChatTemplate.Parse("{{ messages[0].tool_calls[0].function.arguments }}|{{ messages[0].tool_calls[0].type }}");
            var messages = new[] { new ChatMessage("assistant", "") { ToolCalls = new[] { new ChatToolCall("x", "not json") } } };

            Assert.Equal("not json|function", template.Render(messages, false));
        }
    }
}
