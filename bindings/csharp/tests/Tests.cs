// Tests.cs — the C# binding's tests: a console program (no test framework) run under Mono by run_tests.sh.
//
//     mono Tests.exe REPO_ROOT MODEL_DIR OTHER_MODEL_DIR CLI_PATH LAYOUT_FILE WORK_DIR
//
// REPO_ROOT: for include/bit_ttt.h, tests/data/malformed and the trained demo model models/shakespeare-demo.bitt (its
// test is skipped when the file is absent). MODEL_DIR: the tiny model (examples/make_tiny_model.py);
// OTHER_MODEL_DIR: the same shape with other weights (seed 2). CLI_PATH: build/bit-ttt. LAYOUT_FILE: the output of
// layout.c. WORK_DIR: scratch space. The native library is found through LD_LIBRARY_PATH (run_tests.sh sets it to
// the build directory). Exit status: 0 when every test passed, 1 otherwise.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using BitTtt;

internal static class Tests
{
    private static string Root, ModelDir, OtherModelDir, Cli, LayoutFile, Work;
    private static int _passed, _failed;

    // ---- a tiny assert helper ------------------------------------------------------------------------------------

    private sealed class AssertFailed : Exception
    {
        public AssertFailed(string m) : base(m) { }
    }

    private static void True(bool condition, string what)
    {
        if (!condition) throw new AssertFailed(what);
    }

    private static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
            throw new AssertFailed(what + ": expected <" + expected + ">, got <" + actual + ">");
    }

    private static void SameFloats(float[] a, float[] b, string what)
    {
        True(a.Length == b.Length, what + ": lengths " + a.Length + " and " + b.Length);
        for (int i = 0; i < a.Length; ++i)
            if (BitConverter.ToInt32(BitConverter.GetBytes(a[i]), 0) != BitConverter.ToInt32(BitConverter.GetBytes(b[i]), 0))
                throw new AssertFailed(what + ": differ at " + i + ": " + a[i] + " vs " + b[i]);
    }

    private static T Throws<T>(Action action, string what) where T : Exception
    {
        try
        {
            action();
        }
        catch (T e)
        {
            return e;
        }
        catch (Exception e)
        {
            throw new AssertFailed(what + ": expected " + typeof(T).Name + ", got " + e.GetType().Name + ": " + e.Message);
        }
        throw new AssertFailed(what + ": expected " + typeof(T).Name + ", nothing was thrown");
    }

    private static void Test(string name, Action body)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            body();
            ++_passed;
            Console.WriteLine("ok    {0} ({1} ms)", name, sw.ElapsedMilliseconds);
        }
        catch (Exception e)
        {
            ++_failed;
            Console.WriteLine("FAIL  {0}: {1}", name, e);
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private static string Header { get { return File.ReadAllText(Path.Combine(Root, "include", "bit_ttt.h")); } }

    private static string RunCli(params string[] args)
    {
        var psi = new ProcessStartInfo(Cli)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = new UTF8Encoding(false),
            Arguments = string.Join(" ", args.Select(a => "\"" + a.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"")),
        };
        using (Process p = Process.Start(psi))
        {
            string stdout = p.StandardOutput.ReadToEnd();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new AssertFailed("bit-ttt " + psi.Arguments + " failed (" + p.ExitCode + "): " + stderr);
            return stdout;
        }
    }

    private static GenerateOptions Seeded(int maxTokens, ulong seed)
    {
        return new GenerateOptions { MaxTokens = maxTokens, Seed = seed };
    }

    // Bans every end-of-generation token, so only a cancel (or max tokens) ends a generation.
    private static Dictionary<int, float> NoEog(Model m)
    {
        var bias = new Dictionary<int, float>();
        for (int t = 0; t < m.VocabSize; ++t)
            if (m.IsEog(t)) bias[t] = float.NegativeInfinity;
        return bias;
    }

    private static string LongText(int chars)
    {
        var sb = new StringBuilder(chars);
        while (sb.Length < chars) sb.Append("the quick brown fox jumps over the lazy dog. ");
        return sb.ToString(0, chars);
    }

    // ---- the tests -----------------------------------------------------------------------------------------------

    private static int Main(string[] args)
    {
        if (args.Length != 6)
        {
            Console.Error.WriteLine("usage: mono Tests.exe REPO_ROOT MODEL_DIR OTHER_MODEL_DIR CLI_PATH LAYOUT_FILE WORK_DIR");
            return 2;
        }
        Root = args[0];
        ModelDir = args[1];
        OtherModelDir = args[2];
        Cli = args[3];
        LayoutFile = args[4];
        Work = args[5];
        Directory.CreateDirectory(Work);

        Test("ABI check and versions", AbiAndVersions);
        Test("every TTT_API function of bit_ttt.h has a Cdecl [DllImport] that resolves", EveryFunctionImported);
        Test("interop rules: no string/bool/StringBuilder in imports, Cdecl delegates, static MonoPInvokeCallbacks", InteropRules);
        Test("struct mirrors match bit_ttt.h (field names, order) and the C layout (sizes, offsets)", StructLayouts);

        using (Model model = Model.Load(ModelDir))
        {
            Test("model info", () => ModelInfoTest(model));
            Test("UTF-8 round trip of non-ASCII text (CJK, emoji, Cyrillic) through Tokenize/Detokenize", () => Utf8RoundTrip(model));
            Test("invalid UTF-8 bytes survive tokenize/detokenize; TokenToPiece pieces add up", () => RawBytes(model));
            Test("special tokens in user text are not parsed unless asked", () => ParseSpecial(model));
            Test("chat templates: the model's tokenizer_config.json, an explicit template, goldens, errors", ChatTemplateTest);
            Test("non-ASCII paths for models and souls", NonAsciiPaths);
            Test("errors carry the C message and map to exception classes", () => Errors(model));
            Test("the malformed-file corpus: every entry gives its status as the right exception", MalformedCorpus);
            Test("Dispose twice is safe; use after Dispose throws ObjectDisposedException", DisposeRules);
            Test("soul bytes and soul files round trip to identical logits", () => SoulRoundTrip(model));
            Test("a soul of another model is refused unless forced", () => IncompatibleSoul(model));
            Test("ForwardAll's last row equals Forward", () => ForwardAll(model));
            Test("ForwardBatch equals each context alone (logits and souls); n_threads and n_batch change nothing", () => ForwardBatch(model));
            Test("generation is deterministic with a seed; pull, tokens and streaming agree", () => Determinism(model));
            Test("generation equals the C API (bit-ttt generate -n 20 --seed 7)", () => EqualsCli(model));
            Test("stop strings, logit bias, callback stop and callback exceptions", () => StreamingControls(model));
            Test("interleaved contexts on one model give the same text as alone", () => Interleaved(model));
            Test("cancel a pull-style generation from another thread", () => CancelPull(model));
            Test("cancel a streaming generation and a long Learn from another thread", () => CancelStreamAndLearn(model));
            Test("a second thread on a busy context gets BitTttBusyException", () => Busy(model));
            Test("Remember, Sleep with progress, autosave, and the log handler", () => MemoriesSleepLog(model));
            Test("perf counters", () => Perf(model));
        }
        Test("load progress callback, abort, and exceptions thrown by it", LoadProgress);
        Test("LoadBitt from bytes and LoadBittFile agree", LoadBitt);
        Test("Hugging Face BitNet directory: architecture, KV cache length and type, a full cache throws", HfModel);
        Test("Layer: seeded determinism, argument checks, dispose", LayerTest);

        string demo = Path.Combine(Path.Combine(Root, "models"), "shakespeare-demo.bitt");
        if (File.Exists(demo))
            Test("the trained demo model: readable text; the same tokens in two contexts, streaming and bit-ttt generate", () => DemoModel(demo));
        else
            Console.WriteLine("skip  the trained demo model: {0} is absent", demo);

        Console.WriteLine("{0} passed, {1} failed", _passed, _failed);
        return _failed == 0 ? 0 : 1;
    }

    private static void AbiAndVersions()
    {
        Equal(NativeMethods.AbiVersion, Library.AbiVersion, "ABI version");
        Match m = Regex.Match(Header, @"#define\s+TTT_ABI_VERSION\s+(\d+)");
        True(m.Success, "TTT_ABI_VERSION in the header");
        Equal(uint.Parse(m.Groups[1].Value), NativeMethods.AbiVersion, "the binding's ABI constant vs the header");
        True(Regex.IsMatch(Library.Version, @"^\d+\.\d+\.\d+"), "version string '" + Library.Version + "'");
        True(Library.StatusString(Status.Format).StartsWith("TTT_ERR_FORMAT"), "status string of TTT_ERR_FORMAT");
        // Every status code of the header exists in the enum with the same number.
        foreach (Match d in Regex.Matches(Header, @"#define\s+TTT_(OK|ERR_\w+)\s+(\d+)"))
        {
            string name = d.Groups[1].Value == "OK" ? "Ok" : d.Groups[1].Value.Substring(4);
            int code = int.Parse(d.Groups[2].Value);
            True(Enum.IsDefined(typeof(Status), code), "status " + d.Groups[1].Value + " = " + code + " in enum Status");
            Equal(name.Replace("_", "").ToUpperInvariant(), Enum.GetName(typeof(Status), code).ToUpperInvariant(), "name of status " + code);
        }
    }

    // Parses "TTT_API <ret> TTT_CALL name(params);" declarations of the header.
    private static Dictionary<string, int> HeaderFunctions()
    {
        var result = new Dictionary<string, int>();
        string text = Regex.Replace(Header, @"/\*.*?\*/|//[^\n]*", " ", RegexOptions.Singleline);
        foreach (Match m in Regex.Matches(text, @"TTT_API\s+[^;()]*?\bTTT_CALL\s+(ttt_\w+)\s*\(([^;]*?)\)\s*;", RegexOptions.Singleline))
        {
            string parms = m.Groups[2].Value.Trim();
            result[m.Groups[1].Value] = parms == "void" || parms.Length == 0 ? 0 : parms.Split(',').Length;
        }
        return result;
    }

    private static void EveryFunctionImported()
    {
        Dictionary<string, int> header = HeaderFunctions();
        True(header.Count >= 40, "parsed " + header.Count + " functions from the header");
        var imports = new Dictionary<string, MethodInfo>();
        foreach (MethodInfo mi in typeof(NativeMethods).GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
        {
            var dll = (DllImportAttribute)Attribute.GetCustomAttribute(mi, typeof(DllImportAttribute));
            if (dll == null) continue;
            string entry = string.IsNullOrEmpty(dll.EntryPoint) ? mi.Name : dll.EntryPoint;
            Equal(CallingConvention.Cdecl, dll.CallingConvention, entry + " calling convention");
            Equal(NativeMethods.Lib, dll.Value, entry + " library name");
            True(dll.CharSet != CharSet.Ansi, entry + " must not use CharSet.Ansi");
            True(header.ContainsKey(entry), entry + " is imported but not in bit_ttt.h");
            Equal(header[entry], mi.GetParameters().Length, entry + " parameter count");
            Marshal.Prelink(mi); // binds the entry point now: throws EntryPointNotFoundException if the library lacks it
            imports[entry] = mi;
        }
        var missing = header.Keys.Where(k => !imports.ContainsKey(k)).ToList();
        True(missing.Count == 0, "functions of bit_ttt.h without a [DllImport]: " + string.Join(", ", missing.ToArray()));
    }

    private static void InteropRules()
    {
        foreach (MethodInfo mi in typeof(NativeMethods).GetMethods(BindingFlags.Public | BindingFlags.Static))
        {
            if (Attribute.GetCustomAttribute(mi, typeof(DllImportAttribute)) == null) continue;
            foreach (ParameterInfo p in mi.GetParameters().Concat(new[] { mi.ReturnParameter }))
            {
                Type t = p.ParameterType.IsByRef ? p.ParameterType.GetElementType() : p.ParameterType;
                True(t != typeof(string) && t != typeof(bool) && t != typeof(StringBuilder) && t != typeof(char),
                     mi.Name + ": parameter " + p.Name + " of type " + t.Name + " (UTF-8 bytes and int32 flags only)");
            }
        }
        foreach (Type t in typeof(NativeMethods).GetNestedTypes())
        {
            if (!typeof(Delegate).IsAssignableFrom(t)) continue;
            var ufp = (UnmanagedFunctionPointerAttribute)Attribute.GetCustomAttribute(t, typeof(UnmanagedFunctionPointerAttribute));
            True(ufp != null && ufp.CallingConvention == CallingConvention.Cdecl, t.Name + " must be [UnmanagedFunctionPointer(Cdecl)]");
        }
        int callbacks = 0;
        foreach (Type t in typeof(Model).Assembly.GetTypes())
            foreach (MethodInfo mi in t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance))
                foreach (object a in mi.GetCustomAttributes(false))
                    if (a.GetType().Name == "MonoPInvokeCallbackAttribute")
                    {
                        True(mi.IsStatic, t.Name + "." + mi.Name + " is a MonoPInvokeCallback but not static (IL2CPP)");
                        ++callbacks;
                    }
        Equal(3, callbacks, "static callback thunks (log, progress, text)");
        // The source itself: no ANSI marshalling anywhere.
        string source = Regex.Replace(File.ReadAllText(Path.Combine(Root, "bindings", "csharp", "BitTtt.cs")), @"//[^\n]*", "");
        foreach (string banned in new[] { "UnmanagedType.LPStr", "PtrToStringAnsi", "CharSet.Ansi", "StringToHGlobalAnsi" })
            True(!source.Contains(banned), "BitTtt.cs uses " + banned);
    }

    private static void StructLayouts()
    {
        // Field names and order from the header's typedefs.
        string text = Regex.Replace(Header, @"/\*.*?\*/|//[^\n]*", " ", RegexOptions.Singleline);
        int structs = 0;
        foreach (Match m in Regex.Matches(text, @"typedef\s+struct\s+(ttt_\w+)\s*\{(.*?)\}\s*\1\s*;", RegexOptions.Singleline))
        {
            string name = m.Groups[1].Value;
            var fields = m.Groups[2].Value.Split(';').Select(f => f.Trim()).Where(f => f.Length > 0)
                .Select(f => Regex.Match(f, @"(\w+)\s*$").Groups[1].Value).ToArray();
            Type t = typeof(NativeMethods).GetNestedType(name);
            True(t != null, "NativeMethods." + name + " mirrors the header's struct");
            string[] mine = t.GetFields(BindingFlags.Public | BindingFlags.Instance).OrderBy(f => f.MetadataToken).Select(f => f.Name).ToArray();
            Equal(string.Join(",", fields), string.Join(",", mine), name + " fields");
            ++structs;
        }
        Equal(8, structs, "structs in the header");
        // Sizes and offsets as the C compiler lays them out.
        int checkedLines = 0;
        foreach (string line in File.ReadAllLines(LayoutFile))
        {
            string[] parts = line.Split(' ');
            if (parts.Length == 3 && parts[1] == "sizeof")
            {
                Equal(int.Parse(parts[2]), Marshal.SizeOf(typeof(NativeMethods).GetNestedType(parts[0])), parts[0] + " size");
            }
            else
            {
                string[] sf = parts[0].Split('.');
                Equal(int.Parse(parts[1]), Marshal.OffsetOf(typeof(NativeMethods).GetNestedType(sf[0]), sf[1]).ToInt32(), parts[0] + " offset");
            }
            ++checkedLines;
        }
        True(checkedLines > 50, "layout lines checked: " + checkedLines);
    }

    private static void ModelInfoTest(Model model)
    {
        ModelInfo i = model.Info;
        Equal(1000, i.VocabSize, "vocab");
        Equal(16, i.HiddenDim, "hidden");
        Equal(2, i.NumLayers, "layers");
        Equal(64, i.IntermediateDim, "intermediate");
        Equal(4, i.TttDim, "ttt dim");
        Equal(1, i.TttChunk, "chunk");
        True(Math.Abs(i.InnerLr - 0.1f) < 1e-6, "inner lr " + i.InnerLr);
        True(i.HasTokenizer, "has tokenizer");
        True(i.NParams > 0 && i.Fingerprint != 0, "params and fingerprint");
        Equal(TttKind.Upstream, i.TttKind, "ttt kind");
        Equal(1, i.TttHeads, "ttt heads");
    }

    private static readonly string[] Texts =
    {
        "Hello, world!",
        "héllo wörld — Grüße aus Köln",
        "日本語のテキストです。漢字とかなカナ",
        "中文测试：你好，世界",
        "한국어 문장입니다",
        "Привет, мир! Ёжик",
        "emoji 🎮🧠🐉 and a family 👩‍👩‍👧 and a flag 🇯🇵",
        "mixed: ascii, 中文, עברית, العربية, हिन्दी, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "  leading spaces\nnew lines\ttabs  ",
        "",
    };

    private static void Utf8RoundTrip(Model model)
    {
        foreach (string text in Texts)
        {
            int[] ids = model.Tokenize(text, TokenizeFlags.None);
            Equal(text, model.Detokenize(ids), "round trip of '" + text + "'");
            True(ids.All(id => id >= 0 && id < model.VocabSize), "ids in range");
        }
        // Long text exercises the size-query retry paths (more tokens than the first guess, longer text).
        string big = string.Concat(Enumerable.Repeat("龍🐉", 500));
        Equal(big, model.Detokenize(model.Tokenize(big, TokenizeFlags.None)), "long non-ASCII round trip");
    }

    private static void RawBytes(Model model)
    {
        byte[] raw = { 0xff, 0xfe, (byte)'a', 0xe4, 0xb8, (byte)'b', 0xc3 }; // not UTF-8
        int[] ids = model.Tokenize(raw, TokenizeFlags.None);
        True(ids.SelectMany(id => model.TokenToPiece(id)).SequenceEqual(raw), "invalid UTF-8 is kept losslessly in byte tokens");
        Equal("\ufffd\ufffda\ufffdb\ufffd", model.Detokenize(ids), "and decodes to U+FFFD as Hugging Face does");
        string text = "Grüße 世界 🐉";
        ids = model.Tokenize(text, TokenizeFlags.None);
        var joined = new List<byte>();
        foreach (int id in ids) joined.AddRange(model.TokenToPiece(id));
        True(joined.ToArray().SequenceEqual(Encoding.UTF8.GetBytes(text)), "pieces add up to the UTF-8 bytes");
    }

    private static void ParseSpecial(Model model)
    {
        int[] plain = model.Tokenize("<|endoftext|>", TokenizeFlags.None);
        int[] parsed = model.Tokenize("<|endoftext|>", TokenizeFlags.ParseSpecial);
        Equal(1, parsed.Length, "parsed special token count");
        True(plain.Length > 1, "user text is not turned into a control token");
        Equal("", model.Detokenize(parsed, DetokenizeFlags.SkipSpecial), "SkipSpecial drops it");
    }

    private static void ChatTemplateTest()
    {
        var conversation = new List<ChatMessage> { new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi \"there\" ✓") };
        string dir = Path.Combine(Work, "chat_model");
        if (Directory.Exists(dir)) Directory.Delete(dir, true);  // a previous run left its tokenizer_config.json
        CopyDir(ModelDir, dir);
        using (Model plain = Model.Load(dir))
        {
            Equal(null, plain.ChatTemplate, "a model without tokenizer_config.json has no template");
            Throws<BitTttUnsupportedException>(() => plain.ApplyChatTemplate(conversation), "no template, none given");
        }
        // The real Qwen2.5 template beside the model; the expected text is transformers' render of it (the goldens).
        File.Copy(Path.Combine(Root, "tests", "data", "chat_templates", "qwen2.5-3b-instruct.json"), Path.Combine(dir, "tokenizer_config.json"), true);
        using (Model m = Model.Load(dir))
        {
            True(m.ChatTemplate != null && m.ChatTemplate.Contains("<|im_start|>"), "the model's template is read");
            Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi \"there\" ✓<|im_end|>\n<|im_start|>assistant\n",
                  m.ApplyChatTemplate(conversation), "Qwen2.5 render");
            Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi \"there\" ✓<|im_end|>\n",
                  m.ApplyChatTemplate(conversation, addGenerationPrompt: false), "without the generation prompt");
            string withTools = m.ApplyChatTemplate(conversation, extraJson: "{\"tools\": [{\"name\": \"f\"}]}");
            True(withTools.Contains("<tools>\n{\"name\": \"f\"}\n</tools>"), "extra variables reach the template: " + withTools);
            var e = Throws<BitTttFormatException>(() => m.ApplyChatTemplate(conversation, chatTemplate: "{% if %}"), "bad template");
            True(e.Message.Contains("line 1, column"), "the error names the position: " + e.Message);
        }
        // Without a model: Gemma refuses a system message (its raise_exception), and renders a plain conversation.
        string gemma = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{{ '<start_of_turn>' + message['role'] + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";
        var refused = Throws<BitTttArgumentException>(() => ChatTemplates.Apply(gemma, conversation), "Gemma refuses system");
        True(refused.Message.Contains("System role not supported"), refused.Message);
        Equal("<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n",
              ChatTemplates.Apply(gemma, new List<ChatMessage> { new ChatMessage("user", " Hi ") }, bosToken: "<bos>"), "Gemma render");
        Throws<ArgumentException>(() => ChatTemplates.Apply("x\0y", conversation), "NUL in a template");
    }

    private static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)), true);
    }

    private static void NonAsciiPaths()
    {
        string dir = Path.Combine(Work, "模型 Модель ü 🐉");
        CopyDir(ModelDir, dir);
        using (Model m = Model.Load(dir))
        using (var ctx = new Context(m))
        {
            ctx.Learn("remember me");
            string soulPath = Path.Combine(dir, "魂 душа.soul");
            ctx.SaveSoul(soulPath);
            True(File.Exists(soulPath), "soul file written under its UTF-8 name");
            using (var other = new Context(m))
            {
                other.LoadSoul(soulPath);
                Equal(ctx.SoulLevel, other.SoulLevel, "soul level after load");
            }
        }
    }

    private static void Errors(Model model)
    {
        string missing = Path.Combine(Work, "no such dir", "model.bitt");
        var io = Throws<BitTttIOException>(() => Model.Load(missing), "missing file");
        Equal(Status.IO, io.Status, "status");
        True(io.NativeMessage.Contains(missing), "message names the path: " + io.NativeMessage);
        True(io.Message.Contains("TTT_ERR_IO"), "message names the status: " + io.Message);

        string wrongMagic = Path.Combine(Root, "tests", "data", "malformed", "bitt_wrong_magic.bitt");
        var fmt = Throws<BitTttFormatException>(() => Model.Load(wrongMagic), "wrong magic");
        True(fmt.NativeMessage.Contains("magic"), "message says what is wrong: " + fmt.NativeMessage);
        var json = Throws<BitTttFormatException>(() => Model.Load(Path.Combine(Root, "tests", "data", "malformed", "config_invalid_json")), "bad JSON");
        True(json.NativeMessage.Contains("config.json"), "message names the file: " + json.NativeMessage);
        Throws<BitTttFormatException>(() => Model.LoadBitt(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 }), "garbage .bitt bytes");
        Throws<ArgumentNullException>(() => Model.Load(null), "null path");
        // Enum values outside their range are refused before they reach the library, naming the range.
        var lvl = Throws<ArgumentOutOfRangeException>(() => Library.SetLogHandler((l, m) => { }, (LogLevel)7), "log level 7");
        True(lvl.Message.Contains("[0 (Debug), 3 (Error)]"), "log level message names the range");
        Throws<ArgumentOutOfRangeException>(() => Model.Load(missing, new ModelParams { Backend = (Backend)5 }), "backend 5");

        using (var ctx = new Context(model))
        {
            ctx.Forward(1, 2, 3);
            float[] before = ctx.Forward(4);
            var bad = Throws<BitTttArgumentException>(() => ctx.Forward(5, model.VocabSize), "token outside the vocabulary");
            Equal(Status.InvalidArgument, bad.Status, "status");
            True(bad.NativeMessage.Contains(model.VocabSize.ToString()), "message: " + bad.NativeMessage);
            Equal(4UL, ctx.Position, "nothing changed on a refused token");
            Throws<BitTttFormatException>(() => ctx.LoadSoulBytes(new byte[] { 9, 9, 9 }), "garbage soul bytes");
            Equal(4UL, ctx.SoulLevel, "soul unchanged after a refused soul");
            Throws<BitTttStateException>(() => ctx.GenerateNext(), "next without begin");
            Throws<ArgumentException>(() => ctx.Forward(new[] { 1 }, new float[3]), "logits buffer too small");
            True(before.Length == model.VocabSize, "logits size");
        }
    }

    private static void MalformedCorpus()
    {
        string dir = Path.Combine(Root, "tests", "data", "malformed");
        string manifest = File.ReadAllText(Path.Combine(dir, "manifest.json"));
        int expected = Regex.Matches(manifest, "\"expect_status\"").Count;
        var entries = Regex.Matches(manifest,
            "\"path\":\\s*\"([^\"]*)\",\\s*\"load\":\\s*\"(\\w+)\",(?:\\s*\"model\":\\s*\"([^\"]*)\",)?\\s*\"expect_status\":\\s*(\\d+)");
        Equal(expected, entries.Count, "manifest entries parsed");
        foreach (Match e in entries)
        {
            string path = Path.Combine(dir, e.Groups[1].Value), load = e.Groups[2].Value;
            var status = (Status)int.Parse(e.Groups[4].Value);
            Action act;
            if (load == "model_dir" || load == "hf_dir") act = () => Model.Load(path).Dispose();  // hf_dir: a Hugging Face checkpoint
            else if (load == "bitt") act = () => Model.LoadBittFile(path).Dispose();
            else
            {
                string modelPath = Path.Combine(dir, e.Groups[3].Value);
                act = () =>
                {
                    using (Model m = Model.Load(modelPath))
                    using (var c = new Context(m))
                    {
                        c.LoadSoul(path);
                        c.LoadSoulBytes(File.ReadAllBytes(path)); // a valid soul loads from bytes too
                    }
                };
            }
            if (status == Status.Ok)
            {
                act();
                continue;
            }
            BitTttException ex = Throws<BitTttException>(act, e.Groups[1].Value);
            Equal(status, ex.Status, e.Groups[1].Value + " status (" + ex.NativeMessage + ")");
            Equal(BitTttException.FromStatus(status, "").GetType(), ex.GetType(), e.Groups[1].Value + " exception class");
            True(ex.NativeMessage.Length > 10, e.Groups[1].Value + " has a message");
            if (load == "soul" && File.Exists(path))
            {
                // The bytes path gives the same status as the file path.
                using (Model m = Model.Load(Path.Combine(dir, e.Groups[3].Value)))
                using (var c = new Context(m))
                    Equal(status, Throws<BitTttException>(() => c.LoadSoulBytes(File.ReadAllBytes(path)), "bytes").Status,
                          e.Groups[1].Value + " as bytes");
            }
        }
    }

    private static void DisposeRules()
    {
        Model model = Model.Load(ModelDir);
        var ctx = new Context(model);
        Layer layer = Layer.Create(8, 0.1f, 1);

        // A context keeps its model alive: disposing the model first is fine.
        model.Dispose();
        model.Dispose();
        True(model.IsDisposed, "model disposed");
        float[] logits = ctx.Forward(1, 2, 3);
        Equal(1000, logits.Length, "context works after its model was disposed");
        ctx.GenerateText("hi", Seeded(3, 1));

        Throws<ObjectDisposedException>(() => model.Tokenize("x"), "Tokenize after Dispose");
        Throws<ObjectDisposedException>(() => { var unused = model.Info; }, "Info after Dispose");
        Throws<ObjectDisposedException>(() => new Context(model), "new Context on a disposed model");

        ctx.Dispose();
        ctx.Dispose();
        True(ctx.IsDisposed, "context disposed");
        Throws<ObjectDisposedException>(() => ctx.Forward(1), "Forward after Dispose");
        Throws<ObjectDisposedException>(() => ctx.GetSoulBytes(), "GetSoulBytes after Dispose");
        Throws<ObjectDisposedException>(() => ctx.Generate("x").ToList(), "Generate after Dispose");
        Throws<ObjectDisposedException>(() => { var unused = ctx.Position; }, "Position after Dispose");
        ctx.Cancel(); // documented: a no-op on a disposed context

        layer.Dispose();
        layer.Dispose();
        Throws<ObjectDisposedException>(() => layer.Forward(new float[8]), "Layer.Forward after Dispose");

        // Many load/free cycles: nothing leaks handles or crashes.
        for (int i = 0; i < 20; ++i)
            using (Model m = Model.Load(ModelDir))
            using (var c = m.CreateContext())
                c.Forward(i);
    }

    private static void SoulRoundTrip(Model model)
    {
        int[] probe = { 17, 230, 5, 999, 42 };
        using (var a = new Context(model))
        using (var fromBytes = new Context(model))
        using (var fromFile = new Context(model))
        using (var fresh = new Context(model))
        {
            a.Learn("The password of the castle gate is 'moonlight'.");
            a.Forward(3, 1, 4, 1, 5);
            byte[] soul = a.GetSoulBytes();
            True(soul.Length > 0, "soul bytes");
            string path = Path.Combine(Work, "a.soul");
            a.SaveSoul(path);
            True(File.ReadAllBytes(path).SequenceEqual(soul), "the file holds the same bytes");

            fromBytes.LoadSoulBytes(soul);
            fromFile.LoadSoul(path);
            Equal(a.SoulLevel, fromBytes.SoulLevel, "level from bytes");
            Equal(a.SoulLevel, fromFile.SoulLevel, "level from file");
            Equal(a.Position, fromBytes.Position, "position from bytes");

            float[] la = a.Forward(probe), lb = fromBytes.Forward(probe), lf = fromFile.Forward(probe), l0 = fresh.Forward(probe);
            SameFloats(la, lb, "restored from bytes");
            SameFloats(la, lf, "restored from file");
            True(!la.SequenceEqual(l0), "a fresh soul differs");
            True(a.GetSoulBytes().SequenceEqual(fromBytes.GetSoulBytes()), "souls still identical after more tokens");

            string ta = a.GenerateText(" Guard:", Seeded(20, 7)), tb = fromBytes.GenerateText(" Guard:", Seeded(20, 7));
            Equal(ta, tb, "identical continuation");
        }
    }

    private static void IncompatibleSoul(Model model)
    {
        using (var a = new Context(model))
        using (Model other = Model.Load(OtherModelDir))
        using (var b = new Context(other))
        {
            a.Learn("hello");
            byte[] soul = a.GetSoulBytes();
            var e = Throws<BitTttIncompatibleException>(() => b.LoadSoulBytes(soul), "soul of another model");
            True(e.NativeMessage.Length > 0, "message");
            Equal(0UL, b.SoulLevel, "unchanged");
            b.LoadSoulBytes(soul, true);
            Equal(a.SoulLevel, b.SoulLevel, "forced");
        }
    }

    private static void ForwardAll(Model model)
    {
        int[] tokens = { 5, 6, 7, 8 };
        using (var a = new Context(model))
        using (var b = new Context(model))
        {
            float[] all = a.ForwardAll(tokens);
            Equal(tokens.Length * model.VocabSize, all.Length, "size");
            float[] last = b.Forward(tokens);
            SameFloats(last, all.Skip((tokens.Length - 1) * model.VocabSize).ToArray(), "last row");
            var reused = new float[model.VocabSize];
            a.Reset();
            a.Forward(tokens, reused);
            SameFloats(last, reused, "Forward into a caller buffer after Reset");
            a.Forward(new[] { 1 }, null); // no logits wanted
        }
    }

    private static void HfModel()
    {
        using (Model m = Model.Load(Path.Combine(Root, "tests", "data", "hf", "bitnet_mha_untied")))
        {
            Equal(ModelArchitecture.BitNet, m.Info.Architecture, "architecture");
            using (var c = new Context(m, new ContextParams { NCtx = 4, KvCache = KvCacheType.Int8 }))
            {
                Equal(m.VocabSize, c.Forward(1, 2, 3).Length, "logits");
                Throws<BitTttStateException>(() => c.Forward(4, 5), "KV cache full");
            }
        }
    }

    private static void ForwardBatch(Model model)
    {
        var batched = new[] {
            new Context(model, new ContextParams { NThreads = 1 }),
            new Context(model, new ContextParams { NThreads = 2, NBatch = 1 }),
            new Context(model, new ContextParams { NThreads = 3, NBatch = 4 }) };
        var alone = new[] { new Context(model), new Context(model), new Context(model) };
        try
        {
            int v = model.VocabSize;
            for (int step = 0; step < 5; step++)
            {
                var tokens = new int[3][];
                for (int i = 0; i < 3; i++)
                {
                    tokens[i] = new int[1 + (step + i) % 3];
                    for (int k = 0; k < tokens[i].Length; k++) tokens[i][k] = (step * 37 + i * 11 + k * 5) % v;
                }
                float[] got = Context.ForwardBatch(batched, tokens);
                Equal(3 * v, got.Length, "size");
                for (int i = 0; i < 3; i++)
                    SameFloats(alone[i].Forward(tokens[i]), got.Skip(i * v).Take(v).ToArray(), "context " + i + " step " + step);
            }
            for (int i = 0; i < 3; i++)
                True(batched[i].GetSoulBytes().SequenceEqual(alone[i].GetSoulBytes()), "soul " + i);
            Throws<ArgumentException>(() => Context.ForwardBatch(batched, new int[2][]), "count mismatch");
            Throws<BitTttArgumentException>(() => Context.ForwardBatch(new[] { batched[0], batched[0] }, new[] { new[] { 1 }, new[] { 2 } }), "repeated context");
        }
        finally
        {
            foreach (var c in batched) c.Dispose();
            foreach (var c in alone) c.Dispose();
        }
    }

    private static void Determinism(Model model)
    {
        const string prompt = "Once upon a time, 龍 said";
        using (var a = new Context(model))
        using (var b = new Context(model))
        {
            string t1 = a.GenerateText(prompt, Seeded(30, 7));
            Equal(StopReason.MaxTokens, a.LastStopReason, "stop reason");
            string t2 = b.GenerateText(prompt, Seeded(30, 7));
            Equal(t1, t2, "same seed, same soul => same text");
            True(t1.Length > 0, "generated something");

            a.Reset();
            var pieces = a.Generate(prompt, Seeded(30, 7)).ToList();
            True(pieces.All(p => p.Length > 0), "no empty pieces");
            Equal(t1, string.Concat(pieces.ToArray()), "pull-style pieces");

            a.Reset();
            var steps = a.GenerateTokens(prompt, Seeded(30, 7)).ToList();
            Equal(t1, string.Concat(steps.Select(s => s.Text).ToArray()), "token steps");
            Equal(30, steps.Count(s => s.Token >= 0), "30 tokens");
            True(steps.Last().StopReason == StopReason.MaxTokens, "last step ends");

            a.Reset();
            var streamed = new StringBuilder();
            StopReason why = a.Generate(prompt, Seeded(30, 7), piece => { streamed.Append(piece); return true; });
            Equal(StopReason.MaxTokens, why, "streaming stop reason");
            Equal(t1, streamed.ToString(), "streaming");

            a.Reset();
            string t3 = a.GenerateText(prompt, Seeded(30, 8));
            True(t3 != t1, "another seed gives other text");
        }
    }

    private static void EqualsCli(Model model)
    {
        foreach (string prompt in new[] { "The quick brown fox", "Grüße aus 東京 🐉" })
        {
            string stdout = RunCli("generate", "-m", ModelDir, "-p", prompt, "-n", "20", "--seed", "7");
            using (var ctx = new Context(model))
            {
                string text = ctx.GenerateText(prompt, Seeded(20, 7));
                Equal(prompt + text + "\n", stdout, "C# vs the C program for '" + prompt + "'");
            }
        }
    }

    private static void StreamingControls(Model model)
    {
        using (var ctx = new Context(model))
        {
            // Callback returning false stops with StopReason.Callback.
            int calls = 0;
            StopReason why = ctx.Generate("abc", Seeded(50, 3), piece => ++calls < 3);
            Equal(StopReason.Callback, why, "callback stop");
            Equal(3, calls, "callback calls");

            // An exception in the callback comes back out, and the context keeps working.
            var boom = Throws<InvalidOperationException>(() => ctx.Generate("abc", Seeded(50, 3), (Func<string, bool>)(piece =>
            {
                throw new InvalidOperationException("boom");
            })), "callback exception");
            Equal("boom", boom.Message, "the callback's own exception");
            ctx.Forward(1);

            // Stop strings end generation before the string; logit bias bans tokens.
            ctx.Reset();
            string free = ctx.GenerateText("xyz", Seeded(40, 11));
            True(free.Length > 6, "some text: " + free.Length);
            string stop = free.Substring(3, 3);
            ctx.Reset();
            string stopped = ctx.GenerateText("xyz", new GenerateOptions { MaxTokens = 40, Seed = 11, StopStrings = new[] { stop } });
            Equal(StopReason.StopString, ctx.LastStopReason, "stop string reason");
            True(free.StartsWith(stopped) && !stopped.Contains(stop), "text ends before the stop string");

            ctx.Reset();
            var first = ctx.GenerateTokens("xyz", Seeded(1, 11)).First(s => s.Token >= 0).Token;
            ctx.Reset();
            var banned = ctx.GenerateTokens("xyz", new GenerateOptions
            {
                MaxTokens = 1, Seed = 11, LogitBias = new Dictionary<int, float> { { first, float.NegativeInfinity } },
            }).First(s => s.Token >= 0).Token;
            True(banned != first, "a banned token is never produced");

            ctx.Reset();
            Throws<BitTttArgumentException>(() => ctx.GenerateText("x", new GenerateOptions { MaxTokens = -1 }), "bad max tokens");
        }
    }

    private static void Interleaved(Model model)
    {
        const int n = 3;
        var ctxs = Enumerable.Range(0, n).Select(i => new Context(model)).ToArray();
        try
        {
            var texts = new StringBuilder[n];
            for (int i = 0; i < n; ++i)
            {
                texts[i] = new StringBuilder();
                ctxs[i].Learn("character " + i);
                ctxs[i].GenerateBegin("Hello", Seeded(15, (ulong)(100 + i)));
            }
            for (bool running = true; running;)
            {
                running = false;
                for (int i = 0; i < n; ++i)
                {
                    if (ctxs[i].LastStopReason != StopReason.None) continue;
                    texts[i].Append(ctxs[i].GenerateNext().Text);
                    running |= ctxs[i].LastStopReason == StopReason.None;
                }
            }
            for (int i = 0; i < n; ++i)
                using (var alone = new Context(model))
                {
                    alone.Learn("character " + i);
                    Equal(alone.GenerateText("Hello", Seeded(15, (ulong)(100 + i))), texts[i].ToString(), "NPC " + i);
                }
        }
        finally
        {
            foreach (Context c in ctxs) c.Dispose();
        }
    }

    // Cancels until the worker has returned (a cancel landing just before the call starts is cleared by the call).
    private static void CancelUntilDone(Context ctx, Thread worker)
    {
        while (!worker.Join(2)) ctx.Cancel();
    }

    private static void CancelPull(Model model)
    {
        using (var ctx = new Context(model))
        {
            int pieces = 0;
            Exception error = null;
            var options = new GenerateOptions { MaxTokens = int.MaxValue, Seed = 5, LogitBias = NoEog(model) };
            var worker = new Thread(() =>
            {
                try
                {
                    foreach (string p in ctx.Generate("An endless story:", options)) Interlocked.Increment(ref pieces);
                }
                catch (Exception e)
                {
                    error = e;
                }
            });
            worker.Start();
            var sw = Stopwatch.StartNew();
            while (Volatile.Read(ref pieces) < 20 && sw.ElapsedMilliseconds < 20000) Thread.Sleep(1);
            CancelUntilDone(ctx, worker);
            True(error is BitTttAbortedException, "the worker saw BitTttAbortedException, got " + (error == null ? "nothing" : error.ToString()));
            True(pieces >= 20, "pieces before the cancel: " + pieces);
            ulong pos = ctx.Position;
            ctx.Forward(1);
            Equal(pos + 1, ctx.Position, "the context works after the cancel");
            Equal(10, ctx.GenerateTokens("more", Seeded(10, 1)).Count(s => s.Token >= 0), "a new generation runs in full");
        }
    }

    private static void CancelStreamAndLearn(Model model)
    {
        using (var ctx = new Context(model))
        {
            int pieces = 0;
            Exception error = null;
            var options = new GenerateOptions { MaxTokens = int.MaxValue, LogitBias = NoEog(model) };
            var worker = new Thread(() =>
            {
                try
                {
                    ctx.Generate("Stream:", options, piece => { Interlocked.Increment(ref pieces); return true; });
                }
                catch (Exception e)
                {
                    error = e;
                }
            });
            worker.Start();
            var sw = Stopwatch.StartNew();
            while (Volatile.Read(ref pieces) < 10 && sw.ElapsedMilliseconds < 20000) Thread.Sleep(1);
            CancelUntilDone(ctx, worker);
            True(error is BitTttAbortedException, "streaming: " + (error == null ? "nothing thrown" : error.ToString()));

            ctx.Reset();
            string text = LongText(300000);
            error = null;
            int learned = -1;
            worker = new Thread(() =>
            {
                try
                {
                    learned = ctx.Learn(text);
                }
                catch (Exception e)
                {
                    error = e;
                }
            });
            worker.Start();
            Thread.Sleep(30);
            CancelUntilDone(ctx, worker);
            True(error is BitTttAbortedException, "learn: " + (error == null ? "finished " + learned : error.ToString()));
            ulong pos = ctx.Position;
            Equal(pos, ctx.SoulLevel, "whole tokens learned before the stop");
            ctx.Learn("and more");
            True(ctx.Position > pos, "learning goes on after a cancel");
        }
    }

    private static void Busy(Model model)
    {
        using (var ctx = new Context(model))
        {
            string text = LongText(300000);
            var worker = new Thread(() =>
            {
                try
                {
                    ctx.Learn(text);
                }
                catch (BitTttAbortedException)
                {
                }
            });
            worker.Start();
            try
            {
                // Position is published after every token and readable from any thread (bit_ttt.h): once it moves,
                // Learn is running, and any other call from this thread must get Busy.
                var sw = Stopwatch.StartNew();
                while (ctx.Position == 0 && worker.IsAlive && sw.ElapsedMilliseconds < 10000) Thread.Sleep(1);
                True(ctx.Position > 0, "Position moves while Learn runs on another thread");
                var busy = Throws<BitTttBusyException>(() => ctx.Forward(1), "Forward from a second thread during Learn");
                Equal(Status.Busy, busy.Status, "status");
            }
            finally
            {
                CancelUntilDone(ctx, worker);
            }
            ctx.Forward(1); // and the context is fine
        }
    }

    private static void MemoriesSleepLog(Model model)
    {
        string dir = Path.Combine(Work, "memories");
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        Library.Remember(dir, "user", "Where is the dragon? 龍はどこ?");
        Library.Remember(dir, "assistant", "Beyond the lake, 🐉 sleeps.");
        string[] files = Directory.GetFiles(dir, "*.jsonl");
        Equal(1, files.Length, "one day file");
        string content = File.ReadAllText(files[0], Encoding.UTF8);
        True(content.Contains("龍はどこ") && content.Contains("🐉"), "UTF-8 text in the memories file");
        File.AppendAllText(files[0], "this line is not JSON\n");

        var logged = new List<string>();
        Library.SetLogHandler((level, message) =>
        {
            lock (logged) logged.Add(level + ": " + message);
        }, LogLevel.Warn);
        try
        {
            using (var ctx = new Context(model))
            {
                var progress = new List<float>();
                string autosave = Path.Combine(Work, "sleep.soul");
                if (File.Exists(autosave)) File.Delete(autosave);
                int n = ctx.Sleep(new SleepOptions
                {
                    MemoriesDir = dir, AutosavePath = autosave, Progress = p => { progress.Add(p); return true; },
                });
                True(n > 0, "tokens learned in sleep: " + n);
                Equal((ulong)n, ctx.SoulLevel, "soul level");
                True(progress.Count > 0 && progress.All(p => p >= 0 && p <= 1), "progress values");
                True(File.Exists(autosave), "autosaved");
                lock (logged) True(logged.Any(l => l.StartsWith("Warn")), "a warning for the malformed line: " + string.Join(" | ", logged.ToArray()));

                ctx.Reset();
                Throws<BitTttAbortedException>(() => ctx.Sleep(new SleepOptions { MemoriesDir = dir, Progress = p => false }), "progress stop");
                var mine = Throws<FormatException>(() => ctx.Sleep(new SleepOptions
                {
                    MemoriesDir = dir, Progress = p => { throw new FormatException("from progress"); },
                }), "progress exception");
                Equal("from progress", mine.Message, "the progress callback's own exception");
                Throws<ArgumentNullException>(() => ctx.Sleep(new SleepOptions()), "no memories dir");
            }
        }
        finally
        {
            Library.SetLogHandler(null);
        }
        Throws<BitTttArgumentException>(() => Library.Remember(dir, "", "x"), "empty role");
    }

    private static void Perf(Model model)
    {
        using (var ctx = new Context(model))
        {
            ctx.GenerateText("perf", Seeded(12, 1));
            PerfCounters p = ctx.Perf;
            Equal(12UL, p.GeneratedTokens, "generated tokens");
            True(p.PromptTokens > 0 && p.PromptSeconds >= 0 && p.GenerationSeconds > 0, "prompt and timing counters");
        }
    }

    private static void LoadProgress()
    {
        var seen = new List<float>();
        using (Model m = Model.Load(ModelDir, new ModelParams { Progress = p => { seen.Add(p); return true; } }))
            True(m.VocabSize == 1000, "loaded");
        True(seen.Count > 0 && seen.All(p => p >= 0 && p <= 1), "progress values: " + seen.Count);
        Throws<BitTttAbortedException>(() => Model.Load(ModelDir, new ModelParams { Progress = p => false }), "abort");
        var mine = Throws<NotSupportedException>(() => Model.Load(ModelDir, new ModelParams
        {
            Progress = p => { throw new NotSupportedException("from load progress"); },
        }), "exception from the progress callback");
        Equal("from load progress", mine.Message, "message");
        using (Model m = Model.Load(ModelDir, new ModelParams { Backend = Backend.Cpu, VerifyChecksum = true }))
        using (var c = m.CreateContext(new ContextParams { NThreads = 1, Backend = Backend.Cpu }))
            c.Forward(1);
    }

    private static void LoadBitt()
    {
        string bitt = Path.Combine(Work, "tiny.bitt");
        RunCli("convert", ModelDir, bitt);
        using (Model fromFile = Model.LoadBittFile(bitt))
        using (Model fromBytes = Model.LoadBitt(File.ReadAllBytes(bitt)))
        using (Model any = Model.Load(bitt))
        using (var a = new Context(fromFile))
        using (var b = new Context(fromBytes))
        using (var c = new Context(any))
        {
            Equal(fromFile.Info.Fingerprint, fromBytes.Info.Fingerprint, "fingerprint");
            float[] la = a.Forward(1, 2, 3);
            SameFloats(la, b.Forward(1, 2, 3), "bytes vs file");
            SameFloats(la, c.Forward(1, 2, 3), "Load vs LoadBittFile");
            Equal("héllo 🐉", fromBytes.Detokenize(fromBytes.Tokenize("héllo 🐉")), "tokenizer inside the .bitt");
        }
        Throws<BitTttException>(() => Model.LoadBittFile(ModelDir), "a directory is not a .bitt file");
    }

    // models/shakespeare-demo.bitt (trained on tinyshakespeare, its tokenizer inside): ~24 tokens with a fixed seed are
    // readable text, and the token ids are the same pull-style in two fresh contexts and streaming; the text is the same
    // as the C program's (bit-ttt generate) for the same prompt, seed and parameters.
    private static void DemoModel(string path)
    {
        const string prompt = "ROMEO:";
        var options = new GenerateOptions { MaxTokens = 24, Seed = 1, Temperature = 0.8f };
        using (Model model = Model.Load(path))
        {
            True(model.Info.HasTokenizer, "the demo model carries its tokenizer");
            Equal(TttKind.Delta, model.Info.TttKind, "the demo model has the delta TTT layer (docs/memory.md)");
            True(model.Info.TttHeads >= 1 && model.Info.TttDim % model.Info.TttHeads == 0, "heads " + model.Info.TttHeads);
            // Int8 activations on this float-activation model: logits move by the rounding only (docs/performance.md).
            using (var own = new Context(model, new ContextParams { Activations = Activations.Model }))
            using (var int8 = new Context(model, new ContextParams { Activations = Activations.Int8 }))
            {
                int[] ids = model.Tokenize(prompt);
                float[] a = own.Forward(ids), b = int8.Forward(ids);
                float maxDiff = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
                True(maxDiff > 0 && maxDiff < 0.5f, "int8 activations move the logits by " + maxDiff);
            }
            Throws<BitTttArgumentException>(() => new Context(model, new ContextParams { Activations = (Activations)7 }), "unknown activations");
            List<GeneratedToken> steps, again;
            using (var a = new Context(model)) steps = a.GenerateTokens(prompt, options).ToList();
            using (var b = new Context(model)) again = b.GenerateTokens(prompt, options).ToList();
            StopReason end = steps.Last().StopReason;
            True(end == StopReason.MaxTokens || end == StopReason.Eos, "ends at max tokens or EOS, not " + end);
            int[] tokens = steps.Where(s => s.Token >= 0).Select(s => s.Token).ToArray();
            string text = string.Concat(steps.Select(s => s.Text).ToArray());
            True(tokens.Length > 0 && tokens.Length <= 24, tokens.Length + " tokens");
            True(tokens.All(t => t >= 0 && t < model.VocabSize), "token ids in the vocabulary");
            Equal(string.Join(",", tokens), string.Join(",", again.Where(s => s.Token >= 0).Select(s => s.Token)), "tokens of a second context");
            Equal(text, string.Concat(again.Select(s => s.Text).ToArray()), "text of a second context");

            // Readable: mostly letters, spaces and punctuation, with a word of 3+ letters.
            True(text.Trim().Length > 0, "generated more than whitespace: <" + text + ">");
            int plain = text.Count(c => char.IsWhiteSpace(c) || (c < 128 && (char.IsLetter(c) || char.IsPunctuation(c) || char.IsSymbol(c))));
            int letters = text.Count(char.IsLetter);
            True(plain >= 0.9 * text.Length, "mostly letters, spaces and punctuation: <" + text + ">");
            True(letters >= 0.5 * text.Count(c => !char.IsWhiteSpace(c)), "mostly letters: <" + text + ">");
            True(Regex.IsMatch(text, "[A-Za-z]{3}"), "a word of 3+ letters: <" + text + ">");

            // Streaming (ttt_generate) reports the token that completed each non-empty piece: the steps with text.
            var streamed = new StringBuilder();
            var streamedTokens = new List<int>();
            using (var c = new Context(model))
            {
                StopReason why = c.Generate(prompt, options, (piece, token) => { streamed.Append(piece); streamedTokens.Add(token); return true; });
                Equal(end, why, "streaming stop reason");
            }
            Equal(text, streamed.ToString(), "streamed text");
            Equal(string.Join(",", steps.Where(s => s.Text.Length > 0).Select(s => s.Token)), string.Join(",", streamedTokens), "streamed tokens");

            // The C program: prompt + text + newline; the text is what the token ids spell (less an ending EOS).
            int[] spoken = end == StopReason.Eos && model.IsEog(tokens.Last()) ? tokens.Take(tokens.Length - 1).ToArray() : tokens;
            Equal(text, model.Detokenize(spoken), "the tokens spell the text");
            string stdout = RunCli("generate", "-m", path, "-p", prompt, "-n", "24", "--seed", "1", "--temp", "0.8");
            Equal(prompt + text + "\n", stdout, "C# vs the C program (bit-ttt generate)");
        }
    }

    private static void LayerTest()
    {
        var input = new float[5 * 16];
        var rng = new Random(3);
        for (int i = 0; i < input.Length; ++i) input[i] = (float)(rng.NextDouble() * 2 - 1);
        using (Layer a = Layer.Create(16, 0.1f, 42))
        using (Layer b = Layer.Create(16, 0.1f, 42))
        using (Layer c = Layer.Create(16, 0.1f))
        {
            float[] ya = a.Forward(input), yb = b.Forward(input);
            SameFloats(ya, yb, "same seed, same output");
            SameFloats(ya, a.Forward(input), "each call starts from a zero state");
            Equal(input.Length, c.Forward(input).Length, "unseeded layer");
            Throws<ArgumentException>(() => a.Forward(new float[17]), "not a multiple of HiddenDim");
        }
        Throws<BitTttArgumentException>(() => Layer.Create(2, 0.1f), "hidden_dim < 4");
    }
}
