namespace NpcSdk.Templates
{
    /// <summary>Jinja2's built-in tests (<c>x is defined</c>, <c>x is none</c>, <c>x is string</c>...), as its <c>tests.py</c> defines them.</summary>
    internal static class TemplatePredicates
    {
        public static bool Apply(TemplateRenderer r, string name, object? value, CallArgs a)
        {
            switch (name)
            {
                case "defined": return !(value is Undefined);
                case "undefined": return value is Undefined;
                case "none": return value == null;
                case "boolean": return value is bool;
                case "false": return value is bool f && !f;
                case "true": return value is bool t && t;
                case "integer": return value is long;
                case "float": return value is double;
                case "number": return value is long || value is double || value is bool;
                case "string": return value is string;
                case "mapping": return value is PyDict;
                case "iterable": return value is string || value is PyList || value is PyDict || value is Undefined;
                case "sequence": return value is string || value is PyList || value is PyDict;
                case "callable": return value is TemplateCallable;
                case "lower": return value is string lo && lo == PyString.Lower(lo);
                case "upper": return value is string up && up == PyString.Upper(up);
                case "escaped": return false;
                case "even": return (PyOps.AsInteger(value) ?? throw NotInteger(value)) % 2 == 0;
                case "odd": return (PyOps.AsInteger(value) ?? throw NotInteger(value)) % 2 != 0;
                case "divisibleby":
                {
                    long n = PyOps.AsInteger(a.Get(0, "num", null)) ?? throw new TemplateError("divisibleby needs an integer");
                    if (n == 0) throw new TemplateError("integer division or modulo by zero");
                    return (PyOps.AsInteger(value) ?? throw NotInteger(value)) % n == 0;
                }
                case "sameas":
                {
                    object? other = a.Get(0, "other", null);
                    if (value == null || other == null) return value == null && other == null;
                    if (value is bool || value is long || value is string) return PyOps.Equal(value, other) && value.GetType() == other.GetType();
                    return ReferenceEquals(value, other);
                }
                case "eq":
                case "equalto":
                case "==": return PyOps.Equal(value, a.Get(0, "b", null));
                case "ne":
                case "!=": return !PyOps.Equal(value, a.Get(0, "b", null));
                case "lt":
                case "lessthan":
                case "<": return PyOps.Compare(value, a.Get(0, "b", null), "<") < 0;
                case "le":
                case "<=": return PyOps.Compare(value, a.Get(0, "b", null), "<=") <= 0;
                case "gt":
                case "greaterthan":
                case ">": return PyOps.Compare(value, a.Get(0, "b", null), ">") > 0;
                case "ge":
                case ">=": return PyOps.Compare(value, a.Get(0, "b", null), ">=") >= 0;
                case "in": return PyOps.Contains(a.Get(0, "seq", null), value);
                case "filter": return value is string filterName && TemplateFilters.Exists(filterName);
                case "test": return value is string testName && Exists(testName);
                default: throw new TemplateError($"No test named '{name}'.");
            }
        }

        private static TemplateError NotInteger(object? value) =>
            value is Undefined u ? new TemplateError(u.Message) : new TemplateError($"not all arguments converted during string formatting ({PyOps.TypeName(value)})");

        private static bool Exists(string name)
        {
            switch (name)
            {
                case "defined": case "undefined": case "none": case "boolean": case "false": case "true": case "integer":
                case "float": case "number": case "string": case "mapping": case "iterable": case "sequence": case "callable":
                case "lower": case "upper": case "escaped": case "even": case "odd": case "divisibleby": case "sameas":
                case "eq": case "equalto": case "==": case "ne": case "!=": case "lt": case "lessthan": case "<": case "le":
                case "<=": case "gt": case "greaterthan": case ">": case "ge": case ">=": case "in": case "filter": case "test":
                    return true;
                default:
                    return false;
            }
        }
    }
}
