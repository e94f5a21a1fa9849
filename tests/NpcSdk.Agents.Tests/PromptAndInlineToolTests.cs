using NpcSdk.Agents.Characters;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Agents.Tools;
using Xunit;

namespace NpcSdk.Agents.Tests
{
    public sealed class PromptAndInlineToolTests
    {
        [Fact]
        public void Persona_Prompt_Is_The_Documented_NPC_Model_Format()
        {
            // The example system prompt of ../shared/models/README.md, written out by hand from the documentation.
            const string expected =
                "You are Brom Ironhand, the blacksmith of Oakvale.\n" +
                "Personality: gruff, speaks in short, blunt sentences.\n" +
                "Location: the forge, Oakvale.\n" +
                "Player gold: 35\n" +
                "Inventory:\n" +
                "- iron sword: 12 gold\n" +
                "- horseshoe: 2 gold\n" +
                "Quests:\n" +
                "- wolf_hunt: Kill the wolves attacking the farms. Reward: 30 gold\n" +
                "Doors: north gate, cellar door\n" +
                "Songs: Ode to Ale, Wolves of the North\n" +
                "Memories:\n" +
                "- The player's name is Aria.\n" +
                "Tools:\n" +
                "- sell_item(item, price): sell an item from your inventory to the player\n" +
                "- remember(fact): remember a fact about the player";
            var c = new Character("Brom Ironhand", "blacksmith")
            {
                Town = "Oakvale",
                Personality = "gruff, speaks in short, blunt sentences",
                Location = "the forge, Oakvale",
                Inventory = { new InventoryItem("iron sword", 12), new InventoryItem("horseshoe", 2) },
                Quests = { new Quest("wolf_hunt", "Kill the wolves attacking the farms.", 30) },
                Doors = { "north gate", "cellar door" },
                Songs = { "Ode to Ale", "Wolves of the North" },
            };
            var remember = new ToolDefinition("remember", "remember a fact about the player", new[] { new ToolParameter("fact", ToolParameterType.String) }, (a, ctx) => ToolResult.Success());
            var tools = new ToolRegistry().AddFrom(new GameActions()).Add(remember);
            string prompt = PersonaPrompt.Render(c, new PlayerState { Gold = 35, Name = "Aria" }, new string[0], new[] { tools.Find("sell_item")!, remember });
            Assert.Equal(expected, prompt);
        }

        [Fact]
        public void Empty_Sections_Read_None()
        {
            var prompt = PersonaPrompt.Render(new Character("Iorwen", "mayor") { Town = "Bramblewatch" }, new PlayerState { Gold = 100 }, new string[0], new ToolDefinition[0]);
            Assert.Equal("You are Iorwen, the mayor of Bramblewatch.\nPlayer gold: 100\nInventory: none\nMemories: none", prompt);
        }

        [Theory]
        [InlineData("354 * 139 = {354*139}", 0, "354 * 139 = 49206")]
        [InlineData("That's {12 + 3 * 2} gold.", 0, "That's 18 gold.")]
        [InlineData("It is {system.time()} now.", 14.5, "It is 14:30 now.")]
        [InlineData("Half: {7 / 2}", 0, "Half: 3.5")]
        [InlineData("Keep {braces} and {\"json\": 1}", 0, "Keep {braces} and {\"json\": 1}")]
        [InlineData("Day two {system.time()}", 49.25, "Day two 01:15")]
        public void Inline_Tools_Fill_In_Arithmetic_And_The_Clock(string text, double hours, string expected)
        {
            Assert.Equal(expected, InlineTools.Expand(text, hours));
        }
    }
}
