#if !NET
namespace System.Diagnostics.CodeAnalysis
{
    // netstandard2.1 lacks these; the trimmer and the AOT compiler recognise them by name.

    /// <summary>Members of a type that reflection reaches, so trimming keeps them.</summary>
    [AttributeUsage(AttributeTargets.Parameter | AttributeTargets.GenericParameter | AttributeTargets.Field | AttributeTargets.Property | AttributeTargets.ReturnValue, Inherited = false)]
    internal sealed class DynamicallyAccessedMembersAttribute : Attribute
    {
        public DynamicallyAccessedMembersAttribute(DynamicallyAccessedMemberTypes memberTypes) => MemberTypes = memberTypes;

        public DynamicallyAccessedMemberTypes MemberTypes { get; }
    }

    /// <summary>Kinds of members, for <see cref="DynamicallyAccessedMembersAttribute"/>.</summary>
    [Flags]
    internal enum DynamicallyAccessedMemberTypes
    {
        None = 0,
        PublicMethods = 0x0008,
        NonPublicMethods = 0x0010,
    }
}
#endif
