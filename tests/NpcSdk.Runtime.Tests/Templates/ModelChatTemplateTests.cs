using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using NpcSdk.Templates;
using Xunit;

namespace NpcSdk.Tests.Templates
{
    /// <summary>
    /// Real models' chat templates (tests/data/templates/*.jinja, see README.md there) against prompts written out by
    /// hand from each model card's documented format.
    /// </summary>
    public class ModelChatTemplateTests
    {
        private static readonly ChatMessage System = new ChatMessage("system", "You are Brom, the blacksmith.");

        private static readonly ChatMessage[] Chat =
        {
            new ChatMessage("user", "Hello!"),
            new ChatMessage("assistant", "Well met."),
            new ChatMessage("user", "Sell me a sword."),
        };

        private static ChatMessage[] WithSystem => new[] { System, Chat[0], Chat[1], Chat[2] };

        private static ChatTemplate Load(string file) => ChatTemplate.Parse(File.ReadAllText(TestPaths.Data("templates", file)));

        private static ChatToolCall SellSword(string? id = null) =>
            new ChatToolCall("sell_item", "{\"item\": \"iron sword\", \"price\": 12}") { Id = id };

        private static Dictionary<string, object?> Tools(string json) => new Dictionary<string, object?> { ["tools"] = JsonDocument.Parse(json).RootElement };

        private const string SellItemSchema = "[{\"type\": \"function\", \"function\": {\"name\": \"sell_item\", \"parameters\": {\"type\": \"object\"}}}]";

        // ---- Qwen2.5-Instruct (ChatML with a default system prompt and tool calling) ----

        [Fact]
        public void Qwen25_System_User_Assistant_User_With_Generation_Prompt()
        {
            string text = Load("qwen2.5-instruct.jinja").Render(WithSystem, true);

            Assert.Equal(
                "<|im_start|>system\nYou are Brom, the blacksmith.<|im_end|>\n" +
                "<|im_start|>user\nHello!<|im_end|>\n" +
                "<|im_start|>assistant\nWell met.<|im_end|>\n" +
                "<|im_start|>user\nSell me a sword.<|im_end|>\n" +
                "<|im_start|>assistant\n", text);
        }

        [Fact]
        public void Qwen25_Adds_Its_Default_System_Prompt_And_No_Generation_Prompt_When_Not_Asked()
        {
            string text = Load("qwen2.5-instruct.jinja").Render(new[] { Chat[0], Chat[1] }, false);

            Assert.Equal(
                "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
                "<|im_start|>user\nHello!<|im_end|>\n" +
                "<|im_start|>assistant\nWell met.<|im_end|>\n", text);
        }

        [Fact]
        public void Qwen25_Renders_Tools_Tool_Calls_And_Tool_Responses()
        {
            var messages = new[]
            {
                System,
                new ChatMessage("user", "I'll buy the iron sword."),
                new ChatMessage("assistant", "") { ToolCalls = new[] { SellSword() } },
                new ChatMessage("tool", "{\"ok\": true}"),
            };
            var extra = Tools("[{\"type\": \"function\", \"function\": {\"name\": \"sell_item\", \"description\": \"Sell an item\", \"parameters\": " +
                              "{\"type\": \"object\", \"properties\": {\"item\": {\"type\": \"string\"}, \"price\": {\"type\": \"integer\"}}, \"required\": [\"item\", \"price\"]}}}]");

            string text = Load("qwen2.5-instruct.jinja").Render(messages, true, extra: extra);

            Assert.Equal(
                "<|im_start|>system\nYou are Brom, the blacksmith.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
                "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
                "{\"type\": \"function\", \"function\": {\"name\": \"sell_item\", \"description\": \"Sell an item\", \"parameters\": {\"type\": \"object\", \"properties\": {\"item\": {\"type\": \"string\"}, \"price\": {\"type\": \"integer\"}}, \"required\": [\"item\", \"price\"]}}}\n" +
                "</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n" +
                "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" +
                "<|im_start|>user\nI'll buy the iron sword.<|im_end|>\n" +
                "<|im_start|>assistant\n<tool_call>\n{\"name\": \"sell_item\", \"arguments\": {\"item\": \"iron sword\", \"price\": 12}}\n</tool_call><|im_end|>\n" +
                "<|im_start|>user\n<tool_response>\n{\"ok\": true}\n</tool_response><|im_end|>\n" +
                "<|im_start|>assistant\n", text);
        }

        // ---- Llama 3.1 / 3.2 Instruct ----

        private const string Llama31Prompt =
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n" +
            "You are Brom, the blacksmith.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\nWell met.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nSell me a sword.<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n";

        [Fact]
        public void Llama31_Conversation_Matches_The_Documented_Format()
        {
            Assert.Equal(Llama31Prompt, Load("llama-3.1-instruct.jinja").Render(WithSystem, true, "<|begin_of_text|>", "<|eot_id|>"));
        }

        [Fact]
        public void Llama32_Takes_The_Date_From_Extra()
        {
            var extra = new Dictionary<string, object?> { ["date_string"] = "26 Jul 2024" };

            Assert.Equal(Llama31Prompt, Load("llama-3.2-instruct.jinja").Render(WithSystem, true, "<|begin_of_text|>", "<|eot_id|>", extra));
        }

        [Fact]
        public void Llama32_Prints_Today_With_Strftime_Now()
        {
            ChatTemplate template = Load("llama-3.2-instruct.jinja");
            template.Clock = () => new DateTime(2025, 3, 7, 9, 5, 0);

            string text = template.Render(new[] { Chat[0] }, true, "<|begin_of_text|>");

            Assert.Equal(
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 07 Mar 2025\n\n<|eot_id|>" +
                "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", text);
        }

        [Fact]
        public void Llama31_Puts_Tools_In_The_First_User_Message_And_Renders_The_Call()
        {
            var messages = new[]
            {
                System,
                new ChatMessage("user", "I'll buy the iron sword."),
                new ChatMessage("assistant", "") { ToolCalls = new[] { SellSword() } },
                new ChatMessage("tool", "{\"ok\": true}"),
            };

            string text = Load("llama-3.1-instruct.jinja").Render(messages, true, "<|begin_of_text|>", "<|eot_id|>", Tools(SellItemSchema));

            // A string tool result is "iterable" to the template, so transformers prints it through tojson, quoted.
            Assert.Equal(
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n" +
                "You are Brom, the blacksmith.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n" +
                "Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n" +
                "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n" +
                "{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"sell_item\",\n        \"parameters\": {\n            \"type\": \"object\"\n        }\n    }\n}\n\n" +
                "I'll buy the iron sword.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" +
                "{\"name\": \"sell_item\", \"parameters\": {\"item\": \"iron sword\", \"price\": 12}}<|eot_id|>" +
                "<|start_header_id|>ipython<|end_header_id|>\n\n\"{\\\"ok\\\": true}\"<|eot_id|>" +
                "<|start_header_id|>assistant<|end_header_id|>\n\n", text);
        }

        // ---- Mistral-7B-Instruct v0.1 / v0.3 ----

        [Fact]
        public void Mistral01_Conversation_Matches_The_Documented_Format()
        {
            Assert.Equal("<s>[INST] Hello! [/INST]Well met.</s> [INST] Sell me a sword. [/INST]",
                Load("mistral-7b-instruct-v0.1.jinja").Render(Chat, true, "<s>", "</s>"));
        }

        [Fact]
        public void Mistral01_Role_Alternation_Error_Surfaces_As_ChatTemplateException()
        {
            var e = Assert.Throws<ChatTemplateException>(() =>
                Load("mistral-7b-instruct-v0.1.jinja").Render(new[] { Chat[0], Chat[2] }, true, "<s>", "</s>"));

            Assert.True(e.RaisedByTemplate);
            Assert.Equal("Conversation roles must alternate user/assistant/user/assistant/...", e.TemplateMessage);
            Assert.Equal(1, e.Line);
            Assert.Equal(110, e.Column); // where the raise_exception call starts
            Assert.Contains("line 1, column 110", e.Message);
        }

        [Fact]
        public void Mistral01_Rejects_A_System_Message()
        {
            var e = Assert.Throws<ChatTemplateException>(() => Load("mistral-7b-instruct-v0.1.jinja").Render(WithSystem, true, "<s>", "</s>"));

            Assert.True(e.RaisedByTemplate);
        }

        [Fact]
        public void Mistral03_Conversation_Matches_The_Documented_Format()
        {
            Assert.Equal("<s>[INST] Hello![/INST] Well met.</s>[INST] Sell me a sword.[/INST]",
                Load("mistral-7b-instruct-v0.3.jinja").Render(Chat, true, "<s>", "</s>"));
        }

        [Fact]
        public void Mistral03_Puts_The_System_Prompt_Before_The_Last_User_Message()
        {
            Assert.Equal("<s>[INST] Hello![/INST] Well met.</s>[INST] You are Brom, the blacksmith.\n\nSell me a sword.[/INST]",
                Load("mistral-7b-instruct-v0.3.jinja").Render(WithSystem, true, "<s>", "</s>"));
        }

        [Fact]
        public void Mistral03_Renders_Available_Tools_Calls_And_Results()
        {
            var messages = new[]
            {
                new ChatMessage("user", "Sell me the sword."),
                new ChatMessage("assistant", "") { ToolCalls = new[] { SellSword("call00001") } },
                new ChatMessage("tool", "{\"ok\": true}") { ToolCallId = "call00001" },
                new ChatMessage("assistant", "Here you go."),
                new ChatMessage("user", "Thanks"),
            };

            string text = Load("mistral-7b-instruct-v0.3.jinja").Render(messages, true, "<s>", "</s>", Tools(SellItemSchema));

            Assert.Equal(
                "<s>[INST] Sell me the sword.[/INST]" +
                "[TOOL_CALLS] [{\"name\": \"sell_item\", \"arguments\": {\"item\": \"iron sword\", \"price\": 12}, \"id\": \"call00001\"}]</s>" +
                "[TOOL_RESULTS] {\"content\": {\"ok\": true}, \"call_id\": \"call00001\"}[/TOOL_RESULTS]" +
                " Here you go.</s>" +
                "[AVAILABLE_TOOLS] [{\"type\": \"function\", \"function\": {\"name\": \"sell_item\", \"parameters\": {\"type\": \"object\"}}}][/AVAILABLE_TOOLS]" +
                "[INST] Thanks[/INST]", text);
        }

        [Fact]
        public void Mistral03_Tool_Call_Without_A_Nine_Character_Id_Is_Rejected()
        {
            var messages = new[]
            {
                new ChatMessage("user", "Sell me the sword."),
                new ChatMessage("assistant", "") { ToolCalls = new[] { SellSword("x") } },
            };

            var e = Assert.Throws<ChatTemplateException>(() => Load("mistral-7b-instruct-v0.3.jinja").Render(messages, false, "<s>", "</s>"));

            Assert.True(e.RaisedByTemplate);
            Assert.Equal("Tool call IDs should be alphanumeric strings with length 9!", e.TemplateMessage);
        }

        [Fact]
        public void Mistral03_Role_Alternation_Error_Names_Its_Line()
        {
            var e = Assert.Throws<ChatTemplateException>(() =>
                Load("mistral-7b-instruct-v0.3.jinja").Render(new[] { Chat[0], Chat[0] }, true, "<s>", "</s>"));

            Assert.True(e.RaisedByTemplate);
            Assert.Equal("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...", e.TemplateMessage);
            Assert.Equal(18, e.Line);
        }

        // ---- Gemma 2 / 3 ----

        [Fact]
        public void Gemma2_Conversation_Matches_The_Documented_Format()
        {
            var messages = new[] { new ChatMessage("user", " Hello! "), Chat[1], Chat[2] };

            Assert.Equal(
                "<bos><start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\nWell met.<end_of_turn>\n" +
                "<start_of_turn>user\nSell me a sword.<end_of_turn>\n<start_of_turn>model\n",
                Load("gemma-2-it.jinja").Render(messages, true, "<bos>", "<eos>"));
        }

        [Fact]
        public void Gemma2_Rejects_A_System_Message()
        {
            var e = Assert.Throws<ChatTemplateException>(() => Load("gemma-2-it.jinja").Render(WithSystem, true, "<bos>"));

            Assert.True(e.RaisedByTemplate);
            Assert.Equal("System role not supported", e.TemplateMessage);
        }

        [Fact]
        public void Gemma3_Prefixes_The_System_Prompt_To_The_First_User_Turn()
        {
            Assert.Equal(
                "<bos><start_of_turn>user\nYou are Brom, the blacksmith.\n\nHello!<end_of_turn>\n<start_of_turn>model\nWell met.<end_of_turn>\n" +
                "<start_of_turn>user\nSell me a sword.<end_of_turn>\n<start_of_turn>model\n",
                Load("gemma-3-it.jinja").Render(WithSystem, true, "<bos>", "<eos>"));
        }

        [Fact]
        public void Gemma3_Without_Generation_Prompt()
        {
            Assert.Equal(
                "<bos><start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\nWell met.<end_of_turn>\n",
                Load("gemma-3-it.jinja").Render(new[] { Chat[0], Chat[1] }, false, "<bos>", "<eos>"));
        }

        // ---- Phi-3 / 3.5 mini ----

        [Fact]
        public void Phi3Mini_Conversation_Matches_The_Documented_Format()
        {
            Assert.Equal(
                "<|system|>\nYou are Brom, the blacksmith.<|end|>\n<|user|>\nHello!<|end|>\n<|assistant|>\nWell met.<|end|>\n" +
                "<|user|>\nSell me a sword.<|end|>\n<|assistant|>\n",
                Load("phi-3-mini-instruct.jinja").Render(WithSystem, true, "<s>", "<|endoftext|>"));
        }

        [Fact]
        public void Phi3Mini_Ends_With_Eos_Without_Generation_Prompt()
        {
            Assert.Equal("<|user|>\nHello!<|end|>\n<|assistant|>\nWell met.<|end|>\n<|endoftext|>",
                Load("phi-3-mini-instruct.jinja").Render(new[] { Chat[0], Chat[1] }, false, "<s>", "<|endoftext|>"));
        }

        [Fact]
        public void Phi35Mini_Skips_An_Empty_System_Message()
        {
            Assert.Equal("<|user|>\nHello!<|end|>\n<|assistant|>\n",
                Load("phi-3.5-mini-instruct.jinja").Render(new[] { new ChatMessage("system", ""), Chat[0] }, true, "<s>", "<|endoftext|>"));
        }

        // ---- Qwen3 (reasoning in <think> blocks) ----

        [Fact]
        public void Qwen3_Keeps_Only_The_Reasoning_After_The_Last_User_Message()
        {
            var messages = new[]
            {
                new ChatMessage("user", "Hi"),
                new ChatMessage("assistant", "<think>\nhmm\n</think>\n\nHello!"),
                new ChatMessage("user", "And?"),
                new ChatMessage("assistant", "<think>\nagain\n</think>\n\nMore."),
            };

            Assert.Equal(
                "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nAnd?<|im_end|>\n" +
                "<|im_start|>assistant\n<think>\nagain\n</think>\n\nMore.<|im_end|>\n<|im_start|>assistant\n",
                Load("qwen3.jinja").Render(messages, true));
        }

        [Fact]
        public void Qwen3_Enable_Thinking_False_Adds_An_Empty_Think_Block()
        {
            var extra = new Dictionary<string, object?> { ["enable_thinking"] = false };

            Assert.Equal("<|im_start|>user\nOne<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
                Load("qwen3.jinja").Render(new[] { new ChatMessage("user", "One") }, true, extra: extra));
        }

        // ---- BOS handling ----

        [Theory]
        [InlineData("llama-3.1-instruct.jinja", true)]
        [InlineData("llama-3.2-instruct.jinja", true)]
        [InlineData("mistral-7b-instruct-v0.1.jinja", true)]
        [InlineData("mistral-7b-instruct-v0.3.jinja", true)]
        [InlineData("gemma-2-it.jinja", true)]
        [InlineData("gemma-3-it.jinja", true)]
        [InlineData("qwen2.5-instruct.jinja", false)]
        [InlineData("qwen3.jinja", false)]
        [InlineData("phi-3-mini-instruct.jinja", false)]
        public void PrintsBosToken_Tells_Whether_The_Template_Starts_With_Bos(string file, bool prints)
        {
            ChatTemplate template = Load(file);

            Assert.Equal(prints, template.PrintsBosToken);
            string text = template.Render(new[] { Chat[0] }, true, "<BOS>", "<EOS>");
            Assert.Equal(prints, text.StartsWith("<BOS>", StringComparison.Ordinal));
            // Printed once only: the caller must then tokenize with addSpecial=false.
            Assert.Equal(prints ? 1 : 0, text.Split("<BOS>").Length - 1);
        }
    }
}
