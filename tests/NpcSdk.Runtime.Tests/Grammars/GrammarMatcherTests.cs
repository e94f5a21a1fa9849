using System.Text;
using NpcSdk.Grammars;
using Xunit;

namespace NpcSdk.Tests.Grammar
{
    using Grammar = NpcSdk.Grammars.Grammar;

    public sealed class GrammarMatcherTests
    {
        private static readonly Grammar s_numbers = Grammar.Parse("root ::= \"[\" (num (\", \" num)*)? \"]\"\nnum ::= \"-\"? [0-9]+");

        [Fact]
        public void Rejected_Bytes_Leave_The_State_Unchanged()
        {
            var m = s_numbers.CreateMatcher();
            Assert.True(m.Accept(Encoding.UTF8.GetBytes("[1, ")));
            Assert.False(m.Accept((byte)']'));
            Assert.False(m.Accept(Encoding.UTF8.GetBytes("2x")));   // all or nothing
            Assert.Equal(4, m.BytesAccepted);
            Assert.True(m.Accept(Encoding.UTF8.GetBytes("-23]")));
            Assert.True(m.IsComplete);
            Assert.False(m.CanContinue);
        }

        [Fact]
        public void Clone_And_Rollback_Restore_State()
        {
            var m = s_numbers.CreateMatcher();
            m.Accept(Encoding.UTF8.GetBytes("[12"));
            GrammarCheckpoint mark = m.Checkpoint();
            GrammarMatcher copy = m.Clone();
            Assert.True(m.Accept(Encoding.UTF8.GetBytes("]")));
            Assert.True(m.IsComplete);
            m.Rollback(mark);
            Assert.False(m.IsComplete);
            Assert.Equal(3, m.BytesAccepted);
            Assert.True(m.Accept(Encoding.UTF8.GetBytes(", 3]")));
            Assert.True(copy.Accept(Encoding.UTF8.GetBytes("4]")));
            Assert.True(copy.IsComplete);
        }

        [Fact]
        public void Complete_Sentences_Can_Continue()
        {
            var m = Grammar.Parse("root ::= [0-9]+").CreateMatcher();
            Assert.True(m.Accept((byte)'1'));
            Assert.True(m.IsComplete);
            Assert.True(m.CanContinue);
            Assert.True(m.CanAccept((byte)'2'));
            Assert.False(m.CanAccept((byte)'a'));
        }

        [Fact]
        public void States_Recur_Instead_Of_Growing()
        {
            // Right recursion runs as a tail call: a long string visits a bounded number of states.
            var g = Grammar.FromJsonSchema("{\"type\": \"string\"}");
            var m = g.CreateMatcher();
            Assert.True(m.Accept((byte)'"'));
            for (int i = 0; i < 10000; i++) Assert.True(m.Accept((byte)('a' + i % 26)));
            Assert.True(m.Accept((byte)'"'));
            Assert.True(m.IsComplete);
            Assert.True(g.Automaton.StateCount < 20, $"{g.Automaton.StateCount} states");
        }
    }
}
