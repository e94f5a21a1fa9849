using NpcSdk.Agents.Tools;

namespace NpcSdk.Unity.Samples
{
    /// <summary>The tavern sample's game actions; register with <c>NpcBrain.Tools.AddFrom(new TavernActions())</c>.</summary>
    public sealed class TavernActions
    {
        [NpcTool("sell_item", "sell an item from your inventory to the player", Memory = "The player bought the {item} from you for {price} gold.")]
        public ToolResult SellItem([Choices(ChoiceSource.Inventory)] string item, int price, ToolContext ctx)
        {
            var stock = ctx.Npc.FindItem(item)!;
            if (price < stock.Price) return ToolResult.Failure($"the {stock.Name} costs {stock.Price} gold");
            if (ctx.Player.Gold < price) return ToolResult.Failure("the player does not have enough gold");
            ctx.Player.Gold -= price;
            ctx.Player.Inventory.Add(stock.Name);
            return ToolResult.Success(("item", stock.Name), ("player_gold", ctx.Player.Gold));
        }

        [NpcTool("open_door", "open a door or gate", Memory = "You opened the {door} for the player.")]
        public ToolResult OpenDoor([Choices(ChoiceSource.Doors)] string door) => ToolResult.Success(("door", door));
    }
}
