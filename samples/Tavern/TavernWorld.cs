using System.Collections.Generic;
using NpcSdk.Agents.Tools;

namespace NpcSdk.Samples.Tavern
{
    /// <summary>The tavern's game actions: what NPCs can do to the world. Each changes game state and reports it.</summary>
    internal sealed class TavernWorld
    {
        public HashSet<string> OpenDoors { get; } = new HashSet<string>();

        public HashSet<string> Quests { get; } = new HashSet<string>();

        [NpcTool("sell_item", "sell an item from your inventory to the player", Memory = "The player bought the {item} from you for {price} gold.")]
        public ToolResult SellItem([Choices(ChoiceSource.Inventory)] string item, int price, ToolContext ctx)
        {
            var stock = ctx.Npc.FindItem(item)!;
            if (price < stock.Price) return ToolResult.Failure($"the {stock.Name} costs {stock.Price} gold", ("player_gold", ctx.Player.Gold));
            if (ctx.Player.Gold < price) return ToolResult.Failure("the player does not have enough gold", ("player_gold", ctx.Player.Gold));
            ctx.Player.Gold -= price;
            ctx.Player.Inventory.Add(stock.Name);
            if (--stock.Count <= 0) ctx.Npc.Inventory.Remove(stock);
            return ToolResult.Success(("item", stock.Name), ("player_gold", ctx.Player.Gold));
        }

        [NpcTool("open_door", "open a door or gate", Memory = "You opened the {door} for the player.")]
        public ToolResult OpenDoor([Choices(ChoiceSource.Doors)] string door)
        {
            OpenDoors.Add(door);
            return ToolResult.Success(("door", door));
        }

        [NpcTool("start_quest", "give the player a quest", Memory = "You gave the player the {quest_id} quest.")]
        public ToolResult StartQuest([Choices(ChoiceSource.Quests)] string quest_id)
        {
            if (!Quests.Add(quest_id)) return ToolResult.Failure("the player already has this quest", ("quest_id", quest_id));
            return ToolResult.Success(("quest_id", quest_id));
        }

        [NpcTool("call_guards", "call the guards", Memory = "You called the guards: {reason}.")]
        public ToolResult CallGuards(string reason) => ToolResult.Success(("reason", reason));

        [NpcTool("play_song", "play a song", Memory = "You played {song} for the player.")]
        public ToolResult PlaySong([Choices(ChoiceSource.Songs)] string song) => ToolResult.Success(("song", song));
    }
}
