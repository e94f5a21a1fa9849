using System;
using System.Globalization;
using System.Text.RegularExpressions;

namespace NpcSdk.Agents.Dialogue
{
    /// <summary>
    /// Fills in text the model should not guess: <c>{354*139}</c> becomes the product, <c>{system.time()}</c> the game clock.
    /// Anything else in braces is left alone.
    /// </summary>
    public static class InlineTools
    {
        private static readonly Regex Placeholder = new Regex(@"\{([^{}]{1,80})\}", RegexOptions.CultureInvariant);

        /// <summary>Expands placeholders; <paramref name="gameHours"/> drives the clock (hours since day 0, 0:00).</summary>
        public static string Expand(string text, double gameHours)
        {
            return Placeholder.Replace(text, m =>
            {
                string inner = m.Groups[1].Value.Trim();
                if (inner == "system.time()" || inner == "time()") return Clock(gameHours);
                if (Calculator.TryEvaluate(inner, out double v))
                    return Math.Abs(v - Math.Round(v)) < 1e-9 ? Math.Round(v).ToString("0", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);
                return m.Value;
            });
        }

        /// <summary>Formats game time as <c>HH:mm</c>.</summary>
        public static string Clock(double gameHours)
        {
            double h = ((gameHours % 24) + 24) % 24;
            int minutes = (int)Math.Round(h * 60) % (24 * 60);
            return $"{minutes / 60:00}:{minutes % 60:00}";
        }
    }

    /// <summary>A small arithmetic evaluator: numbers, + - * / % and parentheses. No variables, no calls.</summary>
    public static class Calculator
    {
        /// <summary>Evaluates <paramref name="expression"/>; false when it is not plain arithmetic.</summary>
        public static bool TryEvaluate(string expression, out double value)
        {
            var p = new Parser(expression);
            try
            {
                value = p.Expression();
                p.SkipSpaces();
                bool hasOperator = expression.IndexOfAny(new[] { '+', '-', '*', '/', '%' }) > 0;
                return p.AtEnd && hasOperator && !double.IsNaN(value) && !double.IsInfinity(value);
            }
            catch (FormatException)
            {
                value = 0;
                return false;
            }
        }

        private sealed class Parser
        {
            private readonly string _s;
            private int _i;

            public Parser(string s) => _s = s;

            public bool AtEnd => _i >= _s.Length;

            public void SkipSpaces()
            {
                while (_i < _s.Length && char.IsWhiteSpace(_s[_i])) _i++;
            }

            private bool Eat(char c)
            {
                SkipSpaces();
                if (_i < _s.Length && _s[_i] == c) { _i++; return true; }
                return false;
            }

            public double Expression()
            {
                double v = Term();
                while (true)
                {
                    if (Eat('+')) v += Term();
                    else if (Eat('-')) v -= Term();
                    else return v;
                }
            }

            private double Term()
            {
                double v = Factor();
                while (true)
                {
                    if (Eat('*')) v *= Factor();
                    else if (Eat('/')) v /= Factor();
                    else if (Eat('%')) v %= Factor();
                    else return v;
                }
            }

            private double Factor()
            {
                if (Eat('-')) return -Factor();
                if (Eat('+')) return Factor();
                if (Eat('('))
                {
                    double v = Expression();
                    if (!Eat(')')) throw new FormatException("missing )");
                    return v;
                }
                SkipSpaces();
                int start = _i;
                while (_i < _s.Length && (char.IsDigit(_s[_i]) || _s[_i] == '.')) _i++;
                if (start == _i) throw new FormatException("number expected");
                return double.Parse(_s.Substring(start, _i - start), NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        }
    }
}
