using System.Collections.Generic;
using System.Linq;
using NpcSdk.Agents.Tools;

namespace NpcSdk.Agents.Tests
{
    /// <summary>A tiny game: tools that change gold, inventories and doors, and log what ran.</summary>
    internal sealed class GameActions
    {
        public readonly List<string> Log = new List<string>();
        public readonly HashSet<string> OpenDoors = new HashSet<string>();

        [NpcTool("sell_item", "sell an item from your inventory to the player", Memory = "The player bought the {item} from you for {price} gold.")]
        public ToolResult SellItem([Choices(ChoiceSource.Inventory)] string item, int price, ToolContext ctx)
        {
            var stock = ctx.Npc.FindItem(item)!;
            if (price < stock.Price) return ToolResult.Failure($"the {item} costs {stock.Price} gold");
            if (ctx.Player.Gold < price) return ToolResult.Failure("the player cannot pay", ("player_gold", ctx.Player.Gold));
            ctx.Player.Gold -= price;
            ctx.Player.Inventory.Add(stock.Name);
            if (--stock.Count <= 0) ctx.Npc.Inventory.Remove(stock);
            Log.Add($"sell_item({stock.Name}, {price})");
            return ToolResult.Success(("item", stock.Name), ("player_gold", ctx.Player.Gold));
        }

        [NpcTool("give_item", "give an item to the player for free")]
        public ToolResult GiveItem([Choices(ChoiceSource.Inventory)] string item, ToolContext ctx)
        {
            Log.Add($"give_item({item})");
            ctx.Player.Inventory.Add(item);
            return ToolResult.Success(("item", item));
        }

        [NpcTool("open_door", "open a door or gate", Memory = "You opened the {door} for the player.")]
        public ToolResult OpenDoor([Choices(ChoiceSource.Doors)] string door)
        {
            Log.Add($"open_door({door})");
            OpenDoors.Add(door);
            return ToolResult.Success(("door", door));
        }

        [NpcTool("call_guards", "call the guards")]
        public ToolResult CallGuards(string reason)
        {
            Log.Add($"call_guards({reason})");
            return ToolResult.Success(("reason", reason));
        }

        [NpcTool("start_quest", "give the player a quest", Memory = "You gave the player the {quest_id} quest.")]
        public ToolResult StartQuest([Choices(ChoiceSource.Quests)] string quest_id)
        {
            Log.Add($"start_quest({quest_id})");
            return ToolResult.Success(("quest_id", quest_id));
        }

        [NpcTool("play_song", "play a song")]
        public ToolResult PlaySong([Choices(ChoiceSource.Songs)] string song)
        {
            Log.Add($"play_song({song})");
            return ToolResult.Success(("song", song));
        }

        [NpcTool("follow_player", "follow the player")]
        public ToolResult FollowPlayer()
        {
            Log.Add("follow_player()");
            return ToolResult.Success();
        }
    }
}
