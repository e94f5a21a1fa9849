using System;
using NpcSdk.Grammars;
using Xunit;

namespace NpcSdk.Tests.Grammar
{
    using Grammar = NpcSdk.Grammars.Grammar;

    public sealed class ToolCallGrammarTests
    {
        internal static readonly ToolSchema SellItem = new ToolSchema("sell_item",
            @"{""type"": ""object"", ""properties"": {""item"": {""type"": ""string"", ""enum"": [""iron sword"", ""horseshoe""]},
               ""price"": {""type"": ""integer"", ""minimum"": 0}}, ""required"": [""item"", ""price""]}");

        internal static readonly ToolSchema OpenDoor = new ToolSchema("open_door",
            @"{""type"": ""object"", ""properties"": {""door"": {""type"": ""string"", ""enum"": [""stable door"", ""cellar door""]}}, ""required"": [""door""]}");

        internal static readonly ToolSchema Remember = new ToolSchema("remember",
            @"{""type"": ""object"", ""properties"": {""fact"": {""type"": ""string""}}, ""required"": [""fact""]}");

        internal static readonly ToolSchema FollowPlayer = new ToolSchema("follow_player", null);

        private static readonly Grammar s_grammar = Grammar.ToolCall(new[] { SellItem, OpenDoor, Remember, FollowPlayer });

        [Theory]
        // The reference outputs of the NPC model (npc-samples.txt, logits_npc-q8_0.json).
        [InlineData("{\"name\": \"sell_item\", \"arguments\": {\"item\": \"iron sword\", \"price\": 12}}")]
        [InlineData("{\"name\": \"open_door\", \"arguments\": {\"door\": \"cellar door\"}}")]
        [InlineData("{\"name\": \"open_door\", \"arguments\": {\"door\": \"stable door\"}}")]
        [InlineData("{\"name\": \"remember\", \"arguments\": {\"fact\": \"The player's name is Aria.\"}}")]
        [InlineData("{\"name\": \"follow_player\", \"arguments\": {}}")]
        public void Accepts_Calls_In_The_Model_Format(string call)
        {
            Assert.True(s_grammar.Matches(call));
        }

        [Theory]
        [InlineData("{\"name\": \"call_guards\", \"arguments\": {\"reason\": \"thief\"}}")]           // not granted
        [InlineData("{\"name\": \"open_door\", \"arguments\": {\"door\": \"north gate\"}}")]           // not one of the doors
        [InlineData("{\"name\": \"sell_item\", \"arguments\": {\"door\": \"cellar door\"}}")]          // another tool's arguments
        [InlineData("{\"name\": \"sell_item\", \"arguments\": {\"item\": \"horseshoe\", \"price\": \"2\"}}")]
        [InlineData("{\"arguments\": {}, \"name\": \"follow_player\"}")]
        [InlineData("{\"name\": \"follow_player\", \"arguments\": {}} ")]
        [InlineData("{\"name\": \"follow_player\"}")]
        public void Rejects_Everything_Else(string call)
        {
            Assert.False(s_grammar.Matches(call));
        }

        [Fact]
        public void Has_The_Tool_Call_End_Marker_And_Readable_Rules()
        {
            Assert.Equal("</tool_call>", s_grammar.EndMarker);
            string gbnf = s_grammar.ToString();
            Assert.Contains("root ::= ", gbnf);
            Assert.Contains("\"\\\"iron sword\\\"\" | \"\\\"horseshoe\\\"\"", gbnf);
            Assert.True(Grammar.Parse(gbnf).Matches("{\"name\": \"follow_player\", \"arguments\": {}}"));
        }

        [Fact]
        public void Bad_Tool_Lists_Throw()
        {
            Assert.Throws<ArgumentException>(() => Grammar.ToolCall(Array.Empty<ToolSchema>()));
            Assert.Throws<ArgumentException>(() => Grammar.ToolCall(new[] { Remember, Remember }));
            var e = Assert.Throws<GrammarFormatException>(() => Grammar.ToolCall(new[] { new ToolSchema("shout", "{\"type\": \"string\"}") }));
            Assert.Contains("tool 'shout'", e.Message);
            e = Assert.Throws<GrammarFormatException>(() => Grammar.ToolCall(new[] { new ToolSchema("find", "{\"type\": \"object\", \"properties\": {\"q\": {\"$ref\": \"#/x\"}}}") }));
            Assert.Contains("tool 'find': schema #/properties/q: keyword '$ref'", e.Message);
        }
    }
}
