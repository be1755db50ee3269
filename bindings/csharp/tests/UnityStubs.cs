// UnityStubs.cs — just enough of UnityEngine (same names and signatures as Unity's) to compile-check the Unity sample
// (Unity/NpcBrain.cs) and BitTtt.cs with Unity's defines under plain Mono: run_tests.sh builds this into a stub
// UnityEngine.dll and compiles the sample against it. Nothing here runs in a test; members are placeholders.
using System;
using System.Collections.Generic;

namespace UnityEngine
{
    public class Object
    {
        public string name { get; set; }
        public static void Destroy(Object obj) { }
    }

    public class Component : Object
    {
        public GameObject gameObject { get { return null; } }
    }

    public class GameObject : Object
    {
    }

    public class Behaviour : Component
    {
        public bool enabled { get; set; }
        public bool isActiveAndEnabled { get { return enabled; } }
    }

    public class MonoBehaviour : Behaviour
    {
    }

    public class TextAsset : Object
    {
        public byte[] bytes { get { return new byte[0]; } }
        public string text { get { return string.Empty; } }
    }

    public static class Debug
    {
        public static void Log(object message) { }
        public static void Log(object message, Object context) { }
        public static void LogWarning(object message) { }
        public static void LogWarning(object message, Object context) { }
        public static void LogError(object message) { }
        public static void LogError(object message, Object context) { }
        public static void LogException(Exception exception) { }
        public static void LogException(Exception exception, Object context) { }
    }

    public enum RuntimePlatform { WindowsEditor, WindowsPlayer, OSXEditor, OSXPlayer, LinuxEditor, LinuxPlayer, IPhonePlayer, Android, WebGLPlayer }

    public static class Application
    {
        public static string persistentDataPath { get { return "/tmp"; } }
        public static string streamingAssetsPath { get { return "/tmp"; } }
        public static bool isPlaying { get { return false; } }
        public static RuntimePlatform platform { get { return RuntimePlatform.LinuxPlayer; } }
    }

    public static class PlayerPrefs
    {
        private static readonly Dictionary<string, string> Store = new Dictionary<string, string>();
        public static string GetString(string key) { return GetString(key, ""); }
        public static string GetString(string key, string defaultValue) { string v; return Store.TryGetValue(key, out v) ? v : defaultValue; }
        public static void SetString(string key, string value) { Store[key] = value; }
        public static bool HasKey(string key) { return Store.ContainsKey(key); }
        public static void DeleteKey(string key) { Store.Remove(key); }
        public static void Save() { }
    }

    public static class Time
    {
        public static float deltaTime { get { return 0.016f; } }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class SerializeField : Attribute { }

    [AttributeUsage(AttributeTargets.Field, AllowMultiple = true)]
    public class PropertyAttribute : Attribute { }

    public sealed class HeaderAttribute : PropertyAttribute
    {
        public readonly string header;
        public HeaderAttribute(string header) { this.header = header; }
    }

    public sealed class TooltipAttribute : PropertyAttribute
    {
        public readonly string tooltip;
        public TooltipAttribute(string tooltip) { this.tooltip = tooltip; }
    }

    public sealed class TextAreaAttribute : PropertyAttribute
    {
        public TextAreaAttribute() { }
        public TextAreaAttribute(int minLines, int maxLines) { }
    }

    public sealed class RangeAttribute : PropertyAttribute
    {
        public RangeAttribute(float min, float max) { }
    }

    public enum RuntimeInitializeLoadType { AfterSceneLoad, BeforeSceneLoad, AfterAssembliesLoaded, BeforeSplashScreen, SubsystemRegistration }

    [AttributeUsage(AttributeTargets.Method)]
    public sealed class RuntimeInitializeOnLoadMethodAttribute : Attribute
    {
        public RuntimeInitializeOnLoadMethodAttribute() { }
        public RuntimeInitializeOnLoadMethodAttribute(RuntimeInitializeLoadType loadType) { }
    }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class DisallowMultipleComponent : Attribute { }
}

namespace AOT
{
    // Unity defines this in UnityEngine.CoreModule; IL2CPP requires it on static methods native code calls.
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class MonoPInvokeCallbackAttribute : Attribute
    {
        public MonoPInvokeCallbackAttribute(Type type) { }
    }
}
