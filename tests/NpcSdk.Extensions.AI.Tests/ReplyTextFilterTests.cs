using System.Text;
using Xunit;

namespace NpcSdk.Extensions.AI.Tests
{
    /// <summary>The text a caller sees from generated pieces: trimmed, cut at a tool call or stop sequence, streamed losslessly.</summary>
    public sealed class ReplyTextFilterTests
    {
        private static (string Streamed, ReplyTextFilter Filter) Run(string[] pieces, params string[] stops)
        {
            var filter = new ReplyTextFilter(stops);
            var streamed = new StringBuilder();
            foreach (var p in pieces) streamed.Append(filter.Append(p));
            streamed.Append(filter.Finish());
            return (streamed.ToString(), filter);
        }

        [Fact]
        public void Whitespace_Around_The_Text_Is_Dropped_And_Pieces_Add_Up()
        {
            var (streamed, filter) = Run(new[] { "\n ", "Hello", " ", "there", ".", " \n" });
            Assert.Equal("Hello there.", streamed);
            Assert.Equal("Hello there.", filter.Text);
            Assert.False(filter.StopHit || filter.ToolCallStarted);
        }

        [Fact]
        public void Text_Ends_Where_A_Tool_Call_Begins_Even_When_The_Tag_Arrives_In_Pieces()
        {
            var filter = new ReplyTextFilter(null);
            Assert.Equal("A fine choice", filter.Append("A fine choice"));
            Assert.Equal(".", filter.Append(". <tool"));
            Assert.Equal("", filter.Append("_call>{\"name\": \"sell_item\""));
            Assert.Equal("", filter.Append("}</tool_call>"));
            Assert.Equal("", filter.Finish());
            Assert.True(filter.ToolCallStarted);
            Assert.Equal("A fine choice.", filter.Text);
        }

        [Fact]
        public void A_Stop_Sequence_Split_Across_Pieces_Cuts_The_Text()
        {
            var (streamed, filter) = Run(new[] { "One two", " thr", "ee four" }, " three");
            Assert.Equal("One two", streamed);
            Assert.True(filter.StopHit);
        }

        [Fact]
        public void A_Held_Back_Prefix_That_Goes_Elsewhere_Is_Released()
        {
            var (streamed, filter) = Run(new[] { "Price: 3 <", " 5 gold" }, "<|stop|>");
            Assert.Equal("Price: 3 < 5 gold", streamed);
            Assert.False(filter.StopHit);
        }
    }
}
