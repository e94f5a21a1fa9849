using System;
using System.Linq;
using System.Text.Json;
using NpcSdk.Agents.Characters;
using NpcSdk.Agents.Tools;
using Xunit;

namespace NpcSdk.Agents.Tests
{
    public sealed class ToolTests
    {
        private static Character Smith() => new Character("Brom Ironhand", "blacksmith")
        {
            Inventory = { new InventoryItem("iron sword", 12), new InventoryItem("horseshoe", 2) },
            Doors = { "cellar door" },
            Tools = { "sell_item", "open_door" },
        };

        [Fact]
        public void AddFrom_Without_Tools_Names_The_Type()
        {
            // Tools are looked up on the argument's static type; an object typed as object has none, and says so.
            object untyped = new GameActions();
            var e = Assert.Throws<ArgumentException>(() => new ToolRegistry().AddFrom(untyped));
            Assert.Contains("System.Object", e.Message);
            Assert.Contains("[NpcTool]", e.Message);
            Assert.NotEmpty(new ToolRegistry().AddFrom((GameActions)untyped).All);
        }

        [Theory]
        [InlineData("iron sword")]
        [InlineData("say \"hi\"\\ back\n\t")]
        [InlineData("caf\u00e9 <b>&'\u0001\ud83d\ude00")]
        [InlineData("")]
        public void Json_Literals_Match_The_Reflection_Serializer(string text)
        {
            // The AOT-safe writer must produce exactly what JsonSerializer wrote before it.
            Assert.Equal(JsonSerializer.Serialize(text), JsonText.Quote(text));
            var items = new[] { text, "b", text + "c" };
            Assert.Equal(JsonSerializer.Serialize(items), JsonText.Array(items));
        }

        [Fact]
        public void Methods_Become_Tools_With_Prompt_Lines_And_Schemas()
        {
            var registry = new ToolRegistry().AddFrom(new GameActions());
            var sell = registry.Find("sell_item")!;
            Assert.Equal("sell_item(item, price): sell an item from your inventory to the player", sell.PromptLine);
            using var schema = JsonDocument.Parse(sell.ArgumentsSchemaJson(Smith()));
            var props = schema.RootElement.GetProperty("properties");
            Assert.Equal(new[] { "iron sword", "horseshoe" }, props.GetProperty("item").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("integer", props.GetProperty("price").GetProperty("type").GetString());
            Assert.Equal("follow_player(): follow the player", registry.Find("follow_player")!.PromptLine);
            Assert.Equal(new[] { "sell_item", "open_door" }, registry.GrantedTo(Smith()).Select(t => t.Name));
        }

        [Fact]
        public void A_Valid_Call_Runs_And_Changes_Game_State()
        {
            var game = new GameActions();
            var registry = new ToolRegistry().AddFrom(game);
            var npc = Smith();
            var player = new PlayerState { Gold = 35 };
            var result = registry.Execute(ToolCall.Parse("{\"name\": \"sell_item\", \"arguments\": {\"item\": \"Iron Sword\", \"price\": 12}}"), new ToolContext(npc, player));
            Assert.True(result.Ok);
            Assert.Equal("{\"ok\": true, \"item\": \"iron sword\", \"player_gold\": 23}", result.ToJson());
            Assert.Equal(23, player.Gold);
            Assert.Contains("iron sword", player.Inventory);
            Assert.Null(npc.FindItem("iron sword"));
        }

        [Theory]
        [InlineData("{\"name\": \"sell_item\", \"arguments\": {\"item\": \"dragon egg\", \"price\": 12}}", "'dragon egg' is not one of")]
        [InlineData("{\"name\": \"sell_item\", \"arguments\": {\"item\": \"horseshoe\", \"price\": \"two\"}}", "'price' must be an integer")]
        [InlineData("{\"name\": \"sell_item\", \"arguments\": {\"item\": \"horseshoe\"}}", "missing argument 'price'")]
        [InlineData("{\"name\": \"sell_item\", \"arguments\": {\"item\": \"horseshoe\", \"price\": 2, \"discount\": 1}}", "unknown argument 'discount'")]
        [InlineData("{\"name\": \"give_item\", \"arguments\": {\"item\": \"horseshoe\"}}", "not granted to Brom Ironhand")]
        [InlineData("{\"name\": \"launch_missiles\", \"arguments\": {}}", "no such tool")]
        [InlineData("{\"name\": \"sell_item\", \"arguments\": [1, 2]}", "must be an object")]
        [InlineData("{\"name\": \"sell_item\", \"arguments\": {\"item\": \"horseshoe\", \"price\": 2}", "not valid JSON")]
        public void Invalid_Calls_Are_Rejected_With_A_Reason_And_Do_Not_Run(string json, string reason)
        {
            var game = new GameActions();
            var registry = new ToolRegistry().AddFrom(game);
            var e = Assert.Throws<ToolCallRejectedException>(() => registry.Execute(ToolCall.Parse(json), new ToolContext(Smith(), new PlayerState { Gold = 50 })));
            Assert.Contains(reason, e.Message);
            Assert.Empty(game.Log);
        }

        [Fact]
        public void Character_Files_Round_Trip()
        {
            var c = Smith();
            c.Personality = "gruff";
            c.Quests.Add(new Quest("wolf_hunt", "Kill the wolves attacking the farms.", 30));
            var back = Character.FromJson(c.ToJson());
            Assert.Equal(c.ToJson(), back.ToJson());
            Assert.Equal(12, back.FindItem("iron sword")!.Price);
            Assert.Throws<System.FormatException>(() => Character.FromJson("{\"name\": \"x\"}"));
            Assert.Throws<System.FormatException>(() => Character.FromJson("{not json"));
        }
    }
}
