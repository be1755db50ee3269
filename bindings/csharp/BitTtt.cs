// BitTtt.cs — the C# binding of bit_ttt (libbit_ttt.so / bit_ttt.dll / libbit_ttt.dylib): one file, drop it into a
// .NET, Mono or Unity project next to the native library.
//
//     using BitTtt;
//     using (var model = Model.Load("models/demo.bitt"))
//     using (var npc = new Context(model))                      // one context = one character, with its own soul
//     {
//         foreach (string piece in npc.Generate("Hello!", new GenerateOptions { MaxTokens = 64, Seed = 7 }))
//             Console.Write(piece);
//         byte[] save = npc.GetSoulBytes();                      // into your save game; LoadSoulBytes restores it
//     }
//
// Thin by design: every method is one C call (include/bit_ttt.h, the contract) plus conversion. Rules it follows
// (docs/unity.md explains them):
//   - every [DllImport] and every native delegate is Cdecl; the library name is "bit_ttt", or "__Internal" on iOS and
//     visionOS where the library is linked statically;
//   - text crosses the boundary as UTF-8 bytes with explicit lengths (never LPStr/ANSI), and comes back as UTF-8;
//   - native handles live in SafeHandle subclasses (a context keeps its model alive), so a finalizer can never free a
//     handle while a call on it is still running; Dispose twice is safe, use after Dispose throws
//     ObjectDisposedException;
//   - callbacks handed to native code are static methods marked [AOT.MonoPInvokeCallback] (required by IL2CPP), kept
//     alive by static fields, with their state passed through user_data as a GCHandle; an exception thrown by your
//     callback never unwinds through native frames: it is caught, the native call is asked to stop, and the
//     exception is rethrown on return;
//   - the first use checks the native library's ABI version against the one this file was written for.
//
// Threads: a Model may be shared by any number of threads and Contexts. A Context is used by one thread at a time
// (a second thread gets BitTttBusyException); Context.Cancel() is the exception, callable from any thread.
using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;

#if !UNITY_5_3_OR_NEWER
namespace AOT
{
    /// <summary>Marks a static method that native code calls back (IL2CPP/AOT needs it). Unity defines this type
    /// itself; outside Unity this stand-in keeps the same source compiling.</summary>
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class MonoPInvokeCallbackAttribute : Attribute
    {
        public MonoPInvokeCallbackAttribute(Type type) { Type = type; }
        public Type Type { get; private set; }
    }
}
#endif

namespace BitTtt
{
    // =================================================================================================================
    // Enumerations (numbers as in bit_ttt.h; stable forever)
    // =================================================================================================================

    /// <summary>ttt_status codes.</summary>
    public enum Status
    {
        Ok = 0,
        NullPointer = 1,
        DimensionMismatch = 2,
        InvalidArgument = 10,
        BufferTooSmall = 11,
        Busy = 12,
        InvalidState = 13,
        Unsupported = 14,
        IO = 50,
        Format = 51,
        Incompatible = 52,
        OutOfMemory = 53,
        Aborted = 54,
        Backend = 55,
        Panic = 99,
    }

    public enum LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 }

    public enum Backend { Cpu = 0, Cuda = 1 }

    /// <summary>Why generation ended (TTT_STOP_*).</summary>
    public enum StopReason { None = 0, Eos = 1, MaxTokens = 2, StopString = 3, Callback = 4 }

    [Flags]
    public enum TokenizeFlags : uint
    {
        None = 0,
        /// <summary>Add BOS/EOS as the tokenizer's post-processor says.</summary>
        AddSpecial = 1,
        /// <summary>Recognise special tokens written in the text (off by default: user text cannot inject "&lt;/s&gt;").</summary>
        ParseSpecial = 2,
    }

    [Flags]
    public enum DetokenizeFlags : uint { None = 0, SkipSpecial = 1 }

    // =================================================================================================================
    // The raw C ABI: one [DllImport] per function of include/bit_ttt.h, in the header's order.
    // =================================================================================================================

    /// <summary>Every function of bit_ttt.h as declared in C. Prefer the Model/Context/Layer classes; these are
    /// here for what they do not cover. Strings are NUL-terminated UTF-8 byte arrays where C takes a
    /// <c>const char*</c> without a length, plain UTF-8 bytes plus a length where C takes both.</summary>
    public static class NativeMethods
    {
#if (UNITY_IOS || UNITY_VISIONOS) && !UNITY_EDITOR
        public const string Lib = "__Internal"; // libbit_ttt.a linked into the app
#else
        public const string Lib = "bit_ttt";    // bit_ttt.dll, libbit_ttt.so, libbit_ttt.dylib / bit_ttt.bundle
#endif

        /// <summary>TTT_ABI_VERSION of the header this file was written for.</summary>
        public const uint AbiVersion = 1;

        public const uint TTT_SOUL_FORCE = 1;

        // ---- callbacks (typedefs of the header) ----

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate void LogCallback(int level, IntPtr message, IntPtr userData);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate int ProgressCallback(float progress, IntPtr userData);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate int TextCallback(IntPtr text, UIntPtr textLen, int token, IntPtr userData);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate int AbortCallback(IntPtr userData);

        // ---- structs (field for field; size_t = UIntPtr, pointers and function pointers = IntPtr) ----

        [StructLayout(LayoutKind.Sequential)]
        public struct ttt_model_params
        {
            public uint struct_size;
            public int backend;
            public int n_gpu_layers;
            public int verify_checksum;
            public IntPtr progress_callback;
            public IntPtr progress_user_data;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct ttt_model_info
        {
            public uint struct_size;
            public int vocab_size;
            public int hidden_dim;
            public int num_layers;
            public int intermediate_dim;
            public int ttt_dim;
            public int ttt_chunk;
            public int bitlinear_scale;
            public int act_bits;
            public float inner_lr;
            public float norm_eps;
            public int bos_id;
            public int eos_id;
            public ulong fingerprint;
            public ulong n_params;
            public int has_tokenizer;
            public int architecture;
            public int n_heads;
            public int n_kv_heads;
            public int head_dim;
            public int max_position;
            public int ttt_kind;
            public int ttt_heads;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct ttt_context_params
        {
            public uint struct_size;
            public int n_threads;
            public int backend;
            public int n_batch;
            public int lm_head;
            public int n_ctx;
            public int kv_cache_type;
            public int activations;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct ttt_logit_bias
        {
            public int token;
            public float bias;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct ttt_generate_params
        {
            public uint struct_size;
            public int max_tokens;
            public float temperature;
            public int top_k;
            public float top_p;
            public float min_p;
            public float repetition_penalty;
            public float presence_penalty;
            public float frequency_penalty;
            public int penalty_window;
            public ulong seed;
            public IntPtr logit_bias;     // const ttt_logit_bias*
            public UIntPtr n_logit_bias;
            public IntPtr stop_strings;   // const char* const*
            public UIntPtr n_stop_strings;
            public uint tokenize_flags;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct ttt_sleep_params
        {
            public uint struct_size;
            public IntPtr memories_dir;   // const char*, UTF-8
            public int max_days;
            public int random_days;
            public ulong seed;
            public int max_piece_chars;
            public IntPtr progress_callback;
            public IntPtr progress_user_data;
            public IntPtr autosave_path;  // const char*, UTF-8, optional
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct ttt_chat_params
        {
            public uint struct_size;
            public IntPtr chat_template;  // const char*, UTF-8, optional (NULL: the model's own)
            public IntPtr bos_token;      // const char*, UTF-8, optional
            public IntPtr eos_token;      // const char*, UTF-8, optional
            public IntPtr extra_json;     // const char*, UTF-8, optional: a JSON object of more template variables
            public int add_generation_prompt;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct ttt_perf
        {
            public uint struct_size;
            public ulong prompt_tokens;
            public double prompt_seconds;
            public ulong generated_tokens;
            public double generation_seconds;
        }

        // ---- versions and status codes ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern uint ttt_abi_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr ttt_version_string();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr ttt_status_string(int status);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr ttt_last_error();

        // ---- logging ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern void ttt_log_set(LogCallback callback, int minLevel, IntPtr userData);

        // ---- models ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_model_params_init(ref ttt_model_params p, uint structSize);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_load_model(byte[] pathUtf8Z, ref ttt_model_params p, out ModelHandle model);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_load_bitt(byte[] pathUtf8Z, ref ttt_model_params p, out ModelHandle model);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_load_bitt_buffer(byte[] data, UIntPtr size, ref ttt_model_params p,
                                                      out ModelHandle model);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern void ttt_model_free(IntPtr model);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_model_get_info(ModelHandle model, ref ttt_model_info info);

        // ---- contexts ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_context_params_init(ref ttt_context_params p, uint structSize);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_create(ModelHandle model, ref ttt_context_params p, out ContextHandle ctx);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern void ttt_destroy(IntPtr ctx);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_forward(ContextHandle ctx, int[] tokens, UIntPtr nTokens, [Out] float[] logits);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_forward_all(ContextHandle ctx, int[] tokens, UIntPtr nTokens, [Out] float[] logitsAll);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_forward_batch(IntPtr[] contexts, UIntPtr nContexts, int[] tokens, UIntPtr[] nTokens,
                                                   [Out] float[] logits);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_reset(ContextHandle ctx);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_cancel(ContextHandle ctx);

        // Low-level only: a managed abort check would run on the worker thread for every token; games use Cancel()
        // or their own flag checked between GenerateNext steps instead.
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_set_abort_callback(ContextHandle ctx, AbortCallback callback, IntPtr userData);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_get_position(ContextHandle ctx, out ulong position);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_get_soul_level(ContextHandle ctx, out ulong level);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_get_model(ContextHandle ctx, out IntPtr model); // borrowed

        // ---- souls ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_save_soul(ContextHandle ctx, byte[] pathUtf8Z);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_load_soul(ContextHandle ctx, byte[] pathUtf8Z, uint flags);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_save_soul_buffer(ContextHandle ctx, [Out] byte[] buffer, UIntPtr capacity,
                                                      out UIntPtr size);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_load_soul_buffer(ContextHandle ctx, byte[] data, UIntPtr size, uint flags);

        // ---- tokenizer ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_tokenize(ModelHandle model, byte[] textUtf8, UIntPtr textLen, uint flags,
                                              [Out] int[] tokens, UIntPtr capacity, out UIntPtr nTokens);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_detokenize(ModelHandle model, int[] tokens, UIntPtr nTokens, uint flags,
                                                [Out] byte[] text, UIntPtr capacity, out UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_token_to_piece(ModelHandle model, int token, [Out] byte[] buf, UIntPtr capacity,
                                                    out UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_token_is_eog(ModelHandle model, int token, out int isEog);

        // ---- chat templates ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_chat_params_init(ref ttt_chat_params p, uint structSize);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_chat_apply_template(ModelHandle model, byte[] messagesUtf8, UIntPtr messagesLen,
                                                         ref ttt_chat_params p, [Out] byte[] text, UIntPtr capacity,
                                                         out UIntPtr len);

        /// <summary>ttt_chat_apply_template without a model (model = NULL; the params must name a template).</summary>
        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "ttt_chat_apply_template")]
        public static extern int ttt_chat_apply_template_no_model(IntPtr model, byte[] messagesUtf8, UIntPtr messagesLen,
                                                                  ref ttt_chat_params p, [Out] byte[] text,
                                                                  UIntPtr capacity, out UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_model_chat_template(ModelHandle model, [Out] byte[] text, UIntPtr capacity,
                                                         out UIntPtr len);

        // ---- generation ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_generate_params_init(ref ttt_generate_params p, uint structSize);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_generate_begin(ContextHandle ctx, byte[] promptUtf8, UIntPtr promptLen,
                                                    ref ttt_generate_params p);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_generate_next(ContextHandle ctx, out int token, out IntPtr text, out UIntPtr textLen,
                                                   out int stopReason);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_generate(ContextHandle ctx, byte[] promptUtf8, UIntPtr promptLen,
                                              ref ttt_generate_params p, TextCallback callback, IntPtr userData,
                                              out int stopReason);

        // ---- learning, memories and sleep ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_learn(ContextHandle ctx, byte[] textUtf8, UIntPtr textLen, uint tokenizeFlags,
                                           out UIntPtr nTokens);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_remember(byte[] memoriesDirUtf8Z, byte[] roleUtf8Z, byte[] textUtf8, UIntPtr textLen);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_sleep_params_init(ref ttt_sleep_params p, uint structSize);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_sleep(ContextHandle ctx, ref ttt_sleep_params p, out UIntPtr nTokens);

        // ---- performance counters ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_get_perf(ContextHandle ctx, ref ttt_perf perf);

        // ---- upstream's single TTT layer ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_layer_create(UIntPtr hiddenDim, float innerLr, out LayerHandle layer);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_layer_create_seeded(UIntPtr hiddenDim, float innerLr, ulong seed, out LayerHandle layer);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int ttt_layer_forward(LayerHandle layer, float[] input, UIntPtr seqLen, [Out] float[] output);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern void ttt_layer_destroy(IntPtr layer);
    }

    // =================================================================================================================
    // Handles
    // =================================================================================================================

    /// <summary>A ttt_model*. Released with ttt_model_free.</summary>
    public sealed class ModelHandle : SafeHandle
    {
        public ModelHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle()
        {
            NativeMethods.ttt_model_free(handle);
            return true;
        }
    }

    /// <summary>A ttt_context*. Holds a reference on its model's handle; releases the context first, then the model
    /// reference (the C library also keeps the model alive while a context uses it).</summary>
    public sealed class ContextHandle : SafeHandle
    {
        private ModelHandle _model;

        public ContextHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        internal void HoldModel(ModelHandle model)
        {
            bool added = false;
            model.DangerousAddRef(ref added);
            if (added) _model = model;
        }

        protected override bool ReleaseHandle()
        {
            NativeMethods.ttt_destroy(handle);
            ModelHandle model = _model;
            _model = null;
            if (model != null) model.DangerousRelease();
            return true;
        }
    }

    /// <summary>A ttt_layer*. Released with ttt_layer_destroy.</summary>
    public sealed class LayerHandle : SafeHandle
    {
        public LayerHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle()
        {
            NativeMethods.ttt_layer_destroy(handle);
            return true;
        }
    }

    // =================================================================================================================
    // Exceptions: one per status family, each with the status and the library's message (ttt_last_error)
    // =================================================================================================================

    /// <summary>A bit_ttt call failed. <see cref="Status"/> is the code; <see cref="NativeMessage"/> the library's
    /// message, which names the function, the file, the field and the reason.</summary>
    public class BitTttException : Exception
    {
        public Status Status { get; private set; }
        public string NativeMessage { get; private set; }

        public BitTttException(Status status, string nativeMessage)
            : base(Compose(status, nativeMessage))
        {
            Status = status;
            NativeMessage = nativeMessage;
        }

        private static string Compose(Status status, string message)
        {
            string name = Library.StatusName(status);
            return string.IsNullOrEmpty(message) ? name : message + " [" + name + "]";
        }

        /// <summary>The exception class for a status code.</summary>
        public static BitTttException FromStatus(Status status, string message)
        {
            switch (status)
            {
                case Status.NullPointer:
                case Status.DimensionMismatch:
                case Status.InvalidArgument:
                case Status.BufferTooSmall: return new BitTttArgumentException(status, message);
                case Status.Busy: return new BitTttBusyException(status, message);
                case Status.InvalidState: return new BitTttStateException(status, message);
                case Status.Unsupported: return new BitTttUnsupportedException(status, message);
                case Status.IO: return new BitTttIOException(status, message);
                case Status.Format: return new BitTttFormatException(status, message);
                case Status.Incompatible: return new BitTttIncompatibleException(status, message);
                case Status.OutOfMemory:
                case Status.Backend: return new BitTttResourceException(status, message);
                case Status.Aborted: return new BitTttAbortedException(status, message);
                default: return new BitTttInternalException(status, message);
            }
        }
    }

    /// <summary>A caller error: NULL pointer, sizes that do not fit, a value out of range, a buffer too small.</summary>
    public class BitTttArgumentException : BitTttException
    {
        public BitTttArgumentException(Status s, string m) : base(s, m) { }
    }

    /// <summary>The call does not fit the object's state (e.g. generate_next without generate_begin).</summary>
    public class BitTttStateException : BitTttException
    {
        public BitTttStateException(Status s, string m) : base(s, m) { }
    }

    /// <summary>Another thread is using the context (one thread at a time; only Cancel may overlap).</summary>
    public class BitTttBusyException : BitTttStateException
    {
        public BitTttBusyException(Status s, string m) : base(s, m) { }
    }

    /// <summary>A valid request that this build or model does not support (e.g. text on a model without tokenizer).</summary>
    public class BitTttUnsupportedException : BitTttException
    {
        public BitTttUnsupportedException(Status s, string m) : base(s, m) { }
    }

    /// <summary>A file could not be opened, read or written.</summary>
    public class BitTttIOException : BitTttException
    {
        public BitTttIOException(Status s, string m) : base(s, m) { }
    }

    /// <summary>Malformed or corrupted data: a file, a buffer, JSON, UTF-8.</summary>
    public class BitTttFormatException : BitTttException
    {
        public BitTttFormatException(Status s, string m) : base(s, m) { }
    }

    /// <summary>Well-formed data that does not fit, e.g. the soul of another model (see LoadSoul's force).</summary>
    public class BitTttIncompatibleException : BitTttException
    {
        public BitTttIncompatibleException(Status s, string m) : base(s, m) { }
    }

    /// <summary>Out of memory, or the compute backend failed.</summary>
    public class BitTttResourceException : BitTttException
    {
        public BitTttResourceException(Status s, string m) : base(s, m) { }
    }

    /// <summary>Stopped by Context.Cancel() or by a callback that asked to stop.</summary>
    public class BitTttAbortedException : BitTttException
    {
        public BitTttAbortedException(Status s, string m) : base(s, m) { }
    }

    /// <summary>An internal error caught at the library's boundary (TTT_ERR_PANIC) or an unknown code: a bug.</summary>
    public class BitTttInternalException : BitTttException
    {
        public BitTttInternalException(Status s, string m) : base(s, m) { }
    }

    /// <summary>The native library could not be loaded, lacks a function, or has another ABI version.</summary>
    public class BitTttLibraryException : Exception
    {
        public BitTttLibraryException(string message, Exception inner) : base(message, inner) { }
    }

    // =================================================================================================================
    // Helpers: UTF-8, status checks, the ABI check
    // =================================================================================================================

    internal static class Utf8
    {
        private static readonly UTF8Encoding Encoding = new UTF8Encoding(false, false);

        /// <summary>UTF-8 bytes without a terminator (for (pointer, length) arguments).</summary>
        public static byte[] Bytes(string s)
        {
            if (s == null) throw new ArgumentNullException("s");
            return Encoding.GetBytes(s);
        }

        /// <summary>NUL-terminated UTF-8 (for <c>const char*</c> arguments without a length).</summary>
        public static byte[] Z(string s, string paramName)
        {
            if (s == null) throw new ArgumentNullException(paramName);
            int n = Encoding.GetByteCount(s);
            byte[] b = new byte[n + 1];
            Encoding.GetBytes(s, 0, s.Length, b, 0);
            return b;
        }

        /// <summary>A NUL-terminated UTF-8 copy in unmanaged memory (free with Marshal.FreeHGlobal).</summary>
        public static IntPtr AllocZ(string s)
        {
            byte[] b = Z(s, "s");
            IntPtr p = Marshal.AllocHGlobal(b.Length);
            Marshal.Copy(b, 0, p, b.Length);
            return p;
        }

        public static string Decode(byte[] b, int len) { return Encoding.GetString(b, 0, len); }

        public static string Decode(IntPtr p, long len)
        {
            if (p == IntPtr.Zero || len <= 0) return string.Empty;
            byte[] b = new byte[checked((int)len)];
            Marshal.Copy(p, b, 0, b.Length);
            return Encoding.GetString(b);
        }

        /// <summary>Reads a NUL-terminated UTF-8 string (never PtrToStringAnsi: that is the ANSI code page on Windows).</summary>
        public static string DecodeZ(IntPtr p)
        {
            if (p == IntPtr.Zero) return string.Empty;
            int len = 0;
            while (Marshal.ReadByte(p, len) != 0) ++len;
            return Decode(p, len);
        }
    }

    internal static class Native
    {
        /// <summary>Throws the exception of a failed status, with the message read right away on this thread.</summary>
        public static void Check(int status)
        {
            if (status != 0) throw BitTttException.FromStatus((Status)status, Utf8.DecodeZ(NativeMethods.ttt_last_error()));
        }

        public static UIntPtr Size(long n) { return new UIntPtr(checked((ulong)n)); }

        public static int ToInt(UIntPtr n) { return checked((int)n.ToUInt64()); }
    }

    /// <summary>Process-wide functions: versions, status names, logging, memories.</summary>
    public static class Library
    {
        private static readonly object Gate = new object();
        private static volatile bool _checked;

        /// <summary>Loads the native library and compares its ABI version with <see cref="NativeMethods.AbiVersion"/>,
        /// once; every entry point of this binding calls it. Throws BitTttLibraryException with the likely causes.</summary>
        public static void EnsureCompatible()
        {
            if (_checked) return;
            lock (Gate)
            {
                if (_checked) return;
                uint abi;
                try
                {
                    abi = NativeMethods.ttt_abi_version();
                }
                catch (DllNotFoundException e) { throw LoadFailure("could not be loaded", e); }
                catch (EntryPointNotFoundException e) { throw LoadFailure("was found but has no ttt_abi_version()", e); }
                catch (BadImageFormatException e) { throw LoadFailure("is for another CPU architecture", e); }
                if (abi != NativeMethods.AbiVersion)
                    throw new BitTttLibraryException(
                        "The native library '" + NativeMethods.Lib + "' (bit_ttt " + SafeVersion() + ") has ABI version " +
                        abi + ", but this BitTtt.cs was written for ABI version " + NativeMethods.AbiVersion +
                        ". Use the BitTtt.cs that ships with that library (or the library that matches this file).", null);
                _checked = true;
            }
        }

        private static string SafeVersion()
        {
            try { return Utf8.DecodeZ(NativeMethods.ttt_version_string()); }
            catch (Exception) { return "unknown version"; }
        }

        private static BitTttLibraryException LoadFailure(string what, Exception e)
        {
            return new BitTttLibraryException(
                "The native library '" + NativeMethods.Lib + "' " + what + " (" + e.Message + "). Likely causes: " +
                "(1) the library is not where the runtime looks: next to the executable, on LD_LIBRARY_PATH (Linux) / " +
                "DYLD_LIBRARY_PATH (macOS) / PATH (Windows), or in Unity under Assets/Plugins/<platform> with the right " +
                "platform enabled in its import settings; (2) it was built for another CPU architecture (x86_64 vs arm64) " +
                "or platform; (3) a library it depends on is missing (the C++ runtime; CUDA runtime for GPU builds); " +
                "(4) on iOS/visionOS the static library was not linked (the binding then uses \"__Internal\"). " +
                "docs/unity.md lists the plugin folders per platform.", e);
        }

        /// <summary>TTT_ABI_VERSION of the loaded library.</summary>
        public static uint AbiVersion { get { EnsureCompatible(); return NativeMethods.ttt_abi_version(); } }

        /// <summary>Release version of the loaded library, e.g. "0.1.0".</summary>
        public static string Version { get { EnsureCompatible(); return Utf8.DecodeZ(NativeMethods.ttt_version_string()); } }

        /// <summary>Name and meaning of a status, e.g. "TTT_ERR_FORMAT: malformed or corrupted data".</summary>
        public static string StatusString(Status status)
        {
            EnsureCompatible();
            return Utf8.DecodeZ(NativeMethods.ttt_status_string((int)status));
        }

        internal static string StatusName(Status status)
        {
            try { return Utf8.DecodeZ(NativeMethods.ttt_status_string((int)status)); }
            catch (Exception) { return "status " + (int)status; }
        }

        // ---- logging ----

        private static readonly NativeMethods.LogCallback LogThunkDelegate = LogThunk; // kept alive while native holds it
        private static GCHandle _logHandle;
        private static bool _unloadHooked;

        [AOT.MonoPInvokeCallback(typeof(NativeMethods.LogCallback))]
        private static void LogThunk(int level, IntPtr message, IntPtr userData)
        {
            try
            {
                var handler = (Action<LogLevel, string>)GCHandle.FromIntPtr(userData).Target;
                if (handler != null) handler((LogLevel)level, Utf8.DecodeZ(message));
            }
            catch (Exception)
            {
                // never let an exception unwind through native frames
            }
        }

        /// <summary>Routes the library's messages at or above minLevel to handler (null restores the default: stderr,
        /// warnings and up). Global: set it before other threads use the library. The handler runs on the thread that
        /// made the call that logs, so it must be thread-safe (Unity's Debug.Log is). Under Unity the handler is
        /// removed automatically when the scripting domain unloads (domain reload).</summary>
        public static void SetLogHandler(Action<LogLevel, string> handler, LogLevel minLevel = LogLevel.Warn)
        {
            if (minLevel < LogLevel.Debug || minLevel > LogLevel.Error)
                throw new ArgumentOutOfRangeException("minLevel", (int)minLevel, "minLevel must be in [0 (Debug), 3 (Error)]");
            EnsureCompatible();
            lock (Gate)
            {
                GCHandle old = _logHandle;
                if (handler == null)
                {
                    NativeMethods.ttt_log_set(null, (int)minLevel, IntPtr.Zero);
                    _logHandle = default(GCHandle);
                }
                else
                {
                    _logHandle = GCHandle.Alloc(handler);
                    NativeMethods.ttt_log_set(LogThunkDelegate, (int)minLevel, GCHandle.ToIntPtr(_logHandle));
                    if (!_unloadHooked)
                    {
                        // The native library outlives a Unity domain reload; a callback into the unloaded domain would crash.
                        AppDomain.CurrentDomain.DomainUnload += OnUnload;
                        AppDomain.CurrentDomain.ProcessExit += OnUnload;
                        _unloadHooked = true;
                    }
                }
                if (old.IsAllocated) old.Free();
            }
        }

        private static void OnUnload(object sender, EventArgs e)
        {
            try { SetLogHandler(null); }
            catch (Exception) { }
        }

        // ---- memories ----

        /// <summary>Appends one chat turn to &lt;memoriesDir&gt;/YYYY-MM-DD.jsonl (role "user" or "assistant"); Context.Sleep
        /// replays these files into a soul.</summary>
        public static void Remember(string memoriesDir, string role, string text)
        {
            EnsureCompatible();
            byte[] t = Utf8.Bytes(text);
            Native.Check(NativeMethods.ttt_remember(Utf8.Z(memoriesDir, "memoriesDir"), Utf8.Z(role, "role"), t,
                                                    Native.Size(t.Length)));
        }
    }

    // =================================================================================================================
    // Callback plumbing (static thunks, state through GCHandle user_data)
    // =================================================================================================================

    internal sealed class CallbackState
    {
        public Func<float, bool> Progress;
        public Func<string, int, bool> Text;
        public Exception Error;

        [AOT.MonoPInvokeCallback(typeof(NativeMethods.ProgressCallback))]
        public static int ProgressThunk(float progress, IntPtr userData)
        {
            var s = (CallbackState)GCHandle.FromIntPtr(userData).Target;
            try
            {
                return s.Progress(progress) ? 1 : 0;
            }
            catch (Exception e)
            {
                s.Error = e;
                return 0;
            }
        }

        [AOT.MonoPInvokeCallback(typeof(NativeMethods.TextCallback))]
        public static int TextThunk(IntPtr text, UIntPtr textLen, int token, IntPtr userData)
        {
            var s = (CallbackState)GCHandle.FromIntPtr(userData).Target;
            try
            {
                return s.Text(Utf8.Decode(text, (long)textLen.ToUInt64()), token) ? 1 : 0;
            }
            catch (Exception e)
            {
                s.Error = e;
                return 0;
            }
        }

        // Static delegate instances: the GC never collects them, and function pointers made from them stay valid.
        public static readonly NativeMethods.ProgressCallback ProgressDelegate = ProgressThunk;
        public static readonly NativeMethods.TextCallback TextDelegate = TextThunk;
        public static readonly IntPtr ProgressPointer = Marshal.GetFunctionPointerForDelegate(ProgressDelegate);

        /// <summary>After the native call: rethrows the callback's exception (with its stack), else checks status.</summary>
        public void Finish(int status)
        {
            if (Error != null) ExceptionDispatchInfo.Capture(Error).Throw();
            Native.Check(status);
        }
    }

    /// <summary>Unmanaged memory for one call (UTF-8 strings, arrays), freed on Dispose.</summary>
    internal sealed class NativeScratch : IDisposable
    {
        private readonly List<IntPtr> _blocks = new List<IntPtr>();
        private GCHandle _state;

        public IntPtr Alloc(int bytes)
        {
            IntPtr p = Marshal.AllocHGlobal(Math.Max(bytes, 1));
            _blocks.Add(p);
            return p;
        }

        public IntPtr String(string s)
        {
            if (s == null) return IntPtr.Zero;
            IntPtr p = Utf8.AllocZ(s);
            _blocks.Add(p);
            return p;
        }

        /// <summary>A GCHandle to state, as user_data, freed on Dispose.</summary>
        public IntPtr Pin(CallbackState state)
        {
            _state = GCHandle.Alloc(state);
            return GCHandle.ToIntPtr(_state);
        }

        public void Dispose()
        {
            foreach (IntPtr p in _blocks) Marshal.FreeHGlobal(p);
            _blocks.Clear();
            if (_state.IsAllocated) _state.Free();
        }
    }

    // =================================================================================================================
    // Options (null = the library's default, from ttt_*_params_init)
    // =================================================================================================================

    /// <summary>How to load a model. Unset fields keep the library's defaults.</summary>
    public sealed class ModelParams
    {
        public Backend? Backend;
        /// <summary>Layers on the GPU; -1 = automatic.</summary>
        public int? NGpuLayers;
        /// <summary>Verify a .bitt v2 body checksum while loading (default true).</summary>
        public bool? VerifyChecksum;
        /// <summary>Called during loading with progress in [0, 1] on the loading thread; return false to abort
        /// (BitTttAbortedException).</summary>
        public Func<float, bool> Progress;

        internal NativeMethods.ttt_model_params ToNative(NativeScratch scratch)
        {
            var p = new NativeMethods.ttt_model_params();
            uint size = (uint)Marshal.SizeOf(typeof(NativeMethods.ttt_model_params));
            Native.Check(NativeMethods.ttt_model_params_init(ref p, size));
            if (Backend.HasValue && !Enum.IsDefined(typeof(Backend), Backend.Value))
                throw new ArgumentOutOfRangeException("Backend", (int)Backend.Value, "Backend must be Cpu (0) or Cuda (1)");
            if (Backend.HasValue) p.backend = (int)Backend.Value;
            if (NGpuLayers.HasValue) p.n_gpu_layers = NGpuLayers.Value;
            if (VerifyChecksum.HasValue) p.verify_checksum = VerifyChecksum.Value ? 1 : 0;
            if (Progress != null)
            {
                p.progress_callback = CallbackState.ProgressPointer;
                p.progress_user_data = scratch.Pin(new CallbackState { Progress = Progress });
            }
            return p;
        }
    }

    /// <summary>KV cache storage of attention models (TTT_KV_*).</summary>
    public enum KvCacheType { F16 = 0, Int8 = 1, F32 = 2 }

    /// <summary>The rows the ternary products read (TTT_ACTIVATIONS_*): as the model was trained, or int8 for every
    /// model (a float model prefills about twice as fast; its logits move by the rounding of its activations).</summary>
    public enum Activations { Default = 0, Model = 1, Int8 = 2 }

    /// <summary>A model's architecture (TTT_ARCH_*).</summary>
    public enum ModelArchitecture { Ttt = 0, Llama = 1, BitNet = 2 }

    /// <summary>The TTT layer of a BitLlama model (TTT_KIND_*, docs/memory.md).</summary>
    public enum TttKind { Upstream = 0, Delta = 1 }

    /// <summary>How to create a context. Unset fields keep the library's defaults.</summary>
    public sealed class ContextParams
    {
        /// <summary>Worker threads; 0 = all cores. Results are the same bits for any count.</summary>
        public int? NThreads;
        public Backend? Backend;
        /// <summary>Prompt tokens per forward pass (0 = default, 128). Cancel and the abort callback act between
        /// passes: 1 stops at any token, larger prefills faster.</summary>
        public int? NBatch;
        /// <summary>Attention models (Llama, BitNet): KV cache length in tokens (0 = the model's
        /// max_position_embeddings); passing it throws before anything changes.</summary>
        public int? NCtx;
        /// <summary>Attention models: how the KV cache stores keys and values.</summary>
        public KvCacheType? KvCache;
        /// <summary>The rows the ternary products read (unset: the model's, or what TTT_ACTIVATIONS says).</summary>
        public Activations? Activations;

        internal static NativeMethods.ttt_context_params ToNative(ContextParams o)
        {
            var p = new NativeMethods.ttt_context_params();
            Native.Check(NativeMethods.ttt_context_params_init(ref p, (uint)Marshal.SizeOf(typeof(NativeMethods.ttt_context_params))));
            if (o != null && o.NThreads.HasValue) p.n_threads = o.NThreads.Value;
            if (o != null && o.Backend.HasValue) p.backend = (int)o.Backend.Value;
            if (o != null && o.NBatch.HasValue) p.n_batch = o.NBatch.Value;
            if (o != null && o.NCtx.HasValue) p.n_ctx = o.NCtx.Value;
            if (o != null && o.KvCache.HasValue) p.kv_cache_type = (int)o.KvCache.Value;
            if (o != null && o.Activations.HasValue) p.activations = (int)o.Activations.Value;
            return p;
        }
    }

    /// <summary>Sampling and stopping. Unset fields keep the library's defaults (ttt_generate_params_init:
    /// 256 tokens, temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, repetition penalty 1.1, seed 1).</summary>
    public sealed class GenerateOptions
    {
        public int? MaxTokens;
        /// <summary>&lt;= 0: greedy.</summary>
        public float? Temperature;
        public int? TopK;
        public float? TopP;
        public float? MinP;
        public float? RepetitionPenalty;
        public float? PresencePenalty;
        public float? FrequencyPenalty;
        public int? PenaltyWindow;
        /// <summary>Same model + soul + prompt + seed =&gt; same text.</summary>
        public ulong? Seed;
        /// <summary>Added to a token's logit; float.NegativeInfinity bans it.</summary>
        public IDictionary<int, float> LogitBias;
        /// <summary>Generation ends before a stop string, which is never emitted.</summary>
        public IList<string> StopStrings;
        /// <summary>For the prompt (default AddSpecial).</summary>
        public TokenizeFlags? TokenizeFlags;

        internal static NativeMethods.ttt_generate_params ToNative(GenerateOptions o, NativeScratch scratch)
        {
            var p = new NativeMethods.ttt_generate_params();
            Native.Check(NativeMethods.ttt_generate_params_init(ref p, (uint)Marshal.SizeOf(typeof(NativeMethods.ttt_generate_params))));
            if (o == null) return p;
            if (o.MaxTokens.HasValue) p.max_tokens = o.MaxTokens.Value;
            if (o.Temperature.HasValue) p.temperature = o.Temperature.Value;
            if (o.TopK.HasValue) p.top_k = o.TopK.Value;
            if (o.TopP.HasValue) p.top_p = o.TopP.Value;
            if (o.MinP.HasValue) p.min_p = o.MinP.Value;
            if (o.RepetitionPenalty.HasValue) p.repetition_penalty = o.RepetitionPenalty.Value;
            if (o.PresencePenalty.HasValue) p.presence_penalty = o.PresencePenalty.Value;
            if (o.FrequencyPenalty.HasValue) p.frequency_penalty = o.FrequencyPenalty.Value;
            if (o.PenaltyWindow.HasValue) p.penalty_window = o.PenaltyWindow.Value;
            if (o.Seed.HasValue) p.seed = o.Seed.Value;
            if (o.TokenizeFlags.HasValue) p.tokenize_flags = (uint)o.TokenizeFlags.Value;
            if (o.LogitBias != null && o.LogitBias.Count > 0)
            {
                int stride = Marshal.SizeOf(typeof(NativeMethods.ttt_logit_bias));
                IntPtr arr = scratch.Alloc(stride * o.LogitBias.Count);
                int i = 0;
                foreach (KeyValuePair<int, float> kv in o.LogitBias)
                {
                    var entry = new NativeMethods.ttt_logit_bias { token = kv.Key, bias = kv.Value };
                    Marshal.StructureToPtr(entry, new IntPtr(arr.ToInt64() + (long)stride * i++), false);
                }
                p.logit_bias = arr;
                p.n_logit_bias = Native.Size(o.LogitBias.Count);
            }
            if (o.StopStrings != null && o.StopStrings.Count > 0)
            {
                IntPtr arr = scratch.Alloc(IntPtr.Size * o.StopStrings.Count);
                for (int i = 0; i < o.StopStrings.Count; ++i)
                {
                    if (o.StopStrings[i] == null) throw new ArgumentException("StopStrings[" + i + "] is null");
                    Marshal.WriteIntPtr(arr, i * IntPtr.Size, scratch.String(o.StopStrings[i]));
                }
                p.stop_strings = arr;
                p.n_stop_strings = Native.Size(o.StopStrings.Count);
            }
            return p;
        }
    }

    /// <summary>Replaying memories into a soul ("sleep"). Unset fields keep the library's defaults (5 most recent
    /// days, pieces of 500 characters).</summary>
    public sealed class SleepOptions
    {
        /// <summary>Required: the folder of YYYY-MM-DD.jsonl files (see Library.Remember).</summary>
        public string MemoriesDir;
        /// <summary>Replay at most this many day files; 0 = all.</summary>
        public int? MaxDays;
        /// <summary>false: the most recent days, oldest first; true: a seeded random sample.</summary>
        public bool? RandomDays;
        public ulong? Seed;
        public int? MaxPieceChars;
        /// <summary>Optional: save the soul here (crash-safely) when sleep completes.</summary>
        public string AutosavePath;
        /// <summary>Progress in [0, 1] on the sleeping thread; return false to stop (BitTttAbortedException).</summary>
        public Func<float, bool> Progress;

        internal NativeMethods.ttt_sleep_params ToNative(NativeScratch scratch)
        {
            if (MemoriesDir == null) throw new ArgumentNullException("MemoriesDir");
            var p = new NativeMethods.ttt_sleep_params();
            Native.Check(NativeMethods.ttt_sleep_params_init(ref p, (uint)Marshal.SizeOf(typeof(NativeMethods.ttt_sleep_params))));
            p.memories_dir = scratch.String(MemoriesDir);
            if (MaxDays.HasValue) p.max_days = MaxDays.Value;
            if (RandomDays.HasValue) p.random_days = RandomDays.Value ? 1 : 0;
            if (Seed.HasValue) p.seed = Seed.Value;
            if (MaxPieceChars.HasValue) p.max_piece_chars = MaxPieceChars.Value;
            if (AutosavePath != null) p.autosave_path = scratch.String(AutosavePath);
            if (Progress != null)
            {
                p.progress_callback = CallbackState.ProgressPointer;
                p.progress_user_data = scratch.Pin(new CallbackState { Progress = Progress });
            }
            return p;
        }
    }

    // =================================================================================================================
    // Results
    // =================================================================================================================

    /// <summary>A model's shape and identity (ttt_model_info).</summary>
    public sealed class ModelInfo
    {
        public int VocabSize { get; internal set; }
        public int HiddenDim { get; internal set; }
        public int NumLayers { get; internal set; }
        public int IntermediateDim { get; internal set; }
        /// <summary>d = D/4: the soul is NumLayers matrices of d x d.</summary>
        public int TttDim { get; internal set; }
        public int TttChunk { get; internal set; }
        public bool BitlinearScale { get; internal set; }
        public int ActBits { get; internal set; }
        public float InnerLr { get; internal set; }
        public float NormEps { get; internal set; }
        /// <summary>-1 if none.</summary>
        public int BosId { get; internal set; }
        /// <summary>-1 if none.</summary>
        public int EosId { get; internal set; }
        /// <summary>Hash of config and weights; souls carry it.</summary>
        public ulong Fingerprint { get; internal set; }
        public ulong NParams { get; internal set; }
        public bool HasTokenizer { get; internal set; }
        /// <summary>Ttt, or Llama / BitNet (attention models from Hugging Face checkpoints, docs/models.md).</summary>
        public ModelArchitecture Architecture { get; internal set; }
        /// <summary>Upstream's TTT layer or the delta layer (Upstream for attention models).</summary>
        public TttKind TttKind { get; internal set; }
        /// <summary>Fast-weight heads per TTT layer (delta: H blocks of (d/H) x (d/H)); 1 for upstream, 0 for
        /// attention models.</summary>
        public int TttHeads { get; internal set; }
    }

    /// <summary>Per-context performance counters (ttt_perf).</summary>
    public struct PerfCounters
    {
        public ulong PromptTokens;
        public double PromptSeconds;
        public ulong GeneratedTokens;
        public double GenerationSeconds;
    }

    /// <summary>One step of generation: the token (or -1 when none was produced), the UTF-8 text that became complete
    /// with it (possibly empty), and StopReason.None while generation goes on.</summary>
    public struct GeneratedToken
    {
        public int Token;
        public string Text;
        public StopReason StopReason;
    }

    // =================================================================================================================
    // Model
    // =================================================================================================================

    /// <summary>One message of a conversation for ApplyChatTemplate: a role ("system", "user", "assistant" ...) and
    /// its text.</summary>
    public sealed class ChatMessage
    {
        public string Role { get; private set; }
        public string Content { get; private set; }

        public ChatMessage(string role, string content)
        {
            if (role == null) throw new ArgumentNullException("role");
            if (content == null) throw new ArgumentNullException("content");
            Role = role;
            Content = content;
        }
    }

    /// <summary>Chat templates (the Jinja templates of Hugging Face tokenizer_config.json files), rendered by the
    /// library's interpreter.</summary>
    public static class ChatTemplates
    {
        /// <summary>Render a conversation with an explicit template, without a model.</summary>
        public static string Apply(string chatTemplate, IList<ChatMessage> messages, bool addGenerationPrompt = true,
                                   string extraJson = null, string bosToken = "", string eosToken = "")
        {
            if (chatTemplate == null) throw new ArgumentNullException("chatTemplate");
            return Render(null, messages, addGenerationPrompt, chatTemplate, extraJson, bosToken, eosToken);
        }

        /// <summary>The messages as the JSON array the C function takes.</summary>
        public static string MessagesJson(IList<ChatMessage> messages)
        {
            if (messages == null) throw new ArgumentNullException("messages");
            var sb = new StringBuilder("[");
            for (int i = 0; i < messages.Count; ++i)
            {
                if (messages[i] == null) throw new ArgumentException("messages[" + i + "] is null", "messages");
                if (i > 0) sb.Append(',');
                sb.Append("{\"role\":").Append(JsonString(messages[i].Role)).Append(",\"content\":")
                  .Append(JsonString(messages[i].Content)).Append('}');
            }
            return sb.Append(']').ToString();
        }

        private static string JsonString(string s)
        {
            var sb = new StringBuilder("\"");
            foreach (char c in s)
            {
                if (c == '"' || c == '\\') sb.Append('\\').Append(c);
                else if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4"));
                else sb.Append(c);  // other characters (surrogate pairs too) are UTF-8 encoded with the whole text
            }
            return sb.Append('"').ToString();
        }

        internal static string Render(Model model, IList<ChatMessage> messages, bool addGenerationPrompt,
                                      string chatTemplate, string extraJson, string bosToken, string eosToken)
        {
            byte[] json = Utf8.Bytes(MessagesJson(messages));
            foreach (string s in new[] { chatTemplate, extraJson, bosToken, eosToken })
                if (s != null && s.IndexOf('\0') >= 0) throw new ArgumentException("chat template arguments cannot contain NUL characters");
            var p = new NativeMethods.ttt_chat_params();
            Native.Check(NativeMethods.ttt_chat_params_init(ref p, (uint)Marshal.SizeOf(typeof(NativeMethods.ttt_chat_params))));
            var owned = new List<IntPtr>();
            try
            {
                if (chatTemplate != null) owned.Add(p.chat_template = Utf8.AllocZ(chatTemplate));
                if (bosToken != null) owned.Add(p.bos_token = Utf8.AllocZ(bosToken));
                if (eosToken != null) owned.Add(p.eos_token = Utf8.AllocZ(eosToken));
                if (extraJson != null) owned.Add(p.extra_json = Utf8.AllocZ(extraJson));
                p.add_generation_prompt = addGenerationPrompt ? 1 : 0;
                byte[] text = new byte[json.Length * 2 + 256];
                UIntPtr len;
                int status = Call(model, json, ref p, text, out len);
                if (status == (int)Status.BufferTooSmall)
                {
                    text = new byte[Native.ToInt(len)];
                    status = Call(model, json, ref p, text, out len);
                }
                Native.Check(status);
                return Utf8.Decode(text, Native.ToInt(len));
            }
            finally
            {
                foreach (IntPtr ptr in owned) Marshal.FreeHGlobal(ptr);
            }
        }

        private static int Call(Model model, byte[] json, ref NativeMethods.ttt_chat_params p, byte[] text, out UIntPtr len)
        {
            if (model == null)
                return NativeMethods.ttt_chat_apply_template_no_model(IntPtr.Zero, json, Native.Size(json.Length), ref p,
                                                                      text, Native.Size(text.Length), out len);
            return NativeMethods.ttt_chat_apply_template(model.Handle, json, Native.Size(json.Length), ref p, text,
                                                         Native.Size(text.Length), out len);
        }
    }

    /// <summary>Weights and tokenizer: immutable, shared by any number of threads and contexts.</summary>
    public sealed class Model : IDisposable
    {
        private readonly ModelHandle _handle;
        private readonly ModelInfo _info;
        private volatile bool _disposed;

        private Model(ModelHandle handle)
        {
            _handle = handle;
            try
            {
                var ni = new NativeMethods.ttt_model_info();
                ni.struct_size = (uint)Marshal.SizeOf(typeof(NativeMethods.ttt_model_info));
                Native.Check(NativeMethods.ttt_model_get_info(handle, ref ni));
                _info = new ModelInfo
                {
                    VocabSize = ni.vocab_size, HiddenDim = ni.hidden_dim, NumLayers = ni.num_layers,
                    IntermediateDim = ni.intermediate_dim, TttDim = ni.ttt_dim, TttChunk = ni.ttt_chunk,
                    BitlinearScale = ni.bitlinear_scale != 0, ActBits = ni.act_bits, InnerLr = ni.inner_lr,
                    NormEps = ni.norm_eps, BosId = ni.bos_id, EosId = ni.eos_id, Fingerprint = ni.fingerprint,
                    NParams = ni.n_params, HasTokenizer = ni.has_tokenizer != 0,
                    Architecture = (ModelArchitecture)ni.architecture,
                    TttKind = (TttKind)ni.ttt_kind, TttHeads = ni.ttt_heads,
                };
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }

        private delegate int Loader(ref NativeMethods.ttt_model_params p, out ModelHandle h);

        private static Model LoadWith(ModelParams options, Loader load)
        {
            Library.EnsureCompatible();
            using (var scratch = new NativeScratch())
            {
                NativeMethods.ttt_model_params p = (options ?? new ModelParams()).ToNative(scratch);
                ModelHandle h;
                int status = load(ref p, out h);
                CallbackState state = null;
                if (p.progress_user_data != IntPtr.Zero) state = (CallbackState)GCHandle.FromIntPtr(p.progress_user_data).Target;
                if (status != 0 || h.IsInvalid)
                {
                    h.Dispose();
                    if (state != null) state.Finish(status);
                    Native.Check(status);
                    throw new BitTttInternalException(Status.Panic, "the library returned success but no model");
                }
                return new Model(h);
            }
        }

        /// <summary>Loads a model directory (config.json + model.safetensors [+ tokenizer.json]), a .bitt file, or a
        /// .safetensors file with config.json beside it. The path is UTF-8 (non-ASCII paths work on every platform).</summary>
        public static Model Load(string path, ModelParams options = null)
        {
            byte[] p = Utf8.Z(path, "path");
            return LoadWith(options, (ref NativeMethods.ttt_model_params mp, out ModelHandle h) => NativeMethods.ttt_load_model(p, ref mp, out h));
        }

        /// <summary>Loads a .bitt file (v1 or v2).</summary>
        public static Model LoadBittFile(string path, ModelParams options = null)
        {
            byte[] p = Utf8.Z(path, "path");
            return LoadWith(options, (ref NativeMethods.ttt_model_params mp, out ModelHandle h) => NativeMethods.ttt_load_bitt(p, ref mp, out h));
        }

        /// <summary>Loads a .bitt image from memory (e.g. a TextAsset's bytes, or a file read out of an Android APK). The
        /// bytes are copied; the array may be reused afterwards.</summary>
        public static Model LoadBitt(byte[] bitt, ModelParams options = null)
        {
            if (bitt == null) throw new ArgumentNullException("bitt");
            return LoadWith(options, (ref NativeMethods.ttt_model_params mp, out ModelHandle h) =>
                NativeMethods.ttt_load_bitt_buffer(bitt, Native.Size(bitt.Length), ref mp, out h));
        }

        /// <summary>The native handle, for NativeMethods calls.</summary>
        public ModelHandle Handle { get { ThrowIfDisposed(); return _handle; } }

        public bool IsDisposed { get { return _disposed; } }

        public ModelInfo Info { get { ThrowIfDisposed(); return _info; } }

        public int VocabSize { get { return Info.VocabSize; } }

        internal int VocabSizeUnchecked { get { return _info.VocabSize; } }

        internal void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException("BitTtt.Model");
        }

        /// <summary>A new context (a fresh, zero soul) on this model.</summary>
        public Context CreateContext(ContextParams options = null) { return new Context(this, options); }

        /// <summary>Text to token ids (invalid UTF-8 cannot occur in a .NET string; use the byte[] overload for raw bytes).</summary>
        public int[] Tokenize(string text, TokenizeFlags flags = TokenizeFlags.AddSpecial)
        {
            return Tokenize(Utf8.Bytes(text), flags);
        }

        /// <summary>UTF-8 bytes to token ids (invalid UTF-8 is encoded losslessly through byte tokens).</summary>
        public int[] Tokenize(byte[] utf8, TokenizeFlags flags = TokenizeFlags.AddSpecial)
        {
            if (utf8 == null) throw new ArgumentNullException("utf8");
            ThrowIfDisposed();
            int[] tokens = new int[utf8.Length + 8]; // a first guess; the size query below corrects it
            UIntPtr n;
            int status = NativeMethods.ttt_tokenize(_handle, utf8, Native.Size(utf8.Length), (uint)flags, tokens,
                                                    Native.Size(tokens.Length), out n);
            if (status == (int)Status.BufferTooSmall)
            {
                tokens = new int[Native.ToInt(n)];
                status = NativeMethods.ttt_tokenize(_handle, utf8, Native.Size(utf8.Length), (uint)flags, tokens,
                                                    Native.Size(tokens.Length), out n);
            }
            Native.Check(status);
            int count = Native.ToInt(n);
            if (count != tokens.Length) Array.Resize(ref tokens, count);
            return tokens;
        }

        /// <summary>Token ids to text. Byte tokens that do not form valid UTF-8 come out as U+FFFD (as Hugging Face
        /// decodes them); TokenToPiece gives each token's raw bytes.</summary>
        public string Detokenize(int[] tokens, DetokenizeFlags flags = DetokenizeFlags.None)
        {
            byte[] b = DetokenizeBytes(tokens, flags);
            return Utf8.Decode(b, b.Length);
        }

        /// <summary>Token ids to the library's UTF-8 bytes (what Detokenize decodes).</summary>
        public byte[] DetokenizeBytes(int[] tokens, DetokenizeFlags flags = DetokenizeFlags.None)
        {
            if (tokens == null) throw new ArgumentNullException("tokens");
            ThrowIfDisposed();
            byte[] text = new byte[tokens.Length * 8 + 16];
            UIntPtr len;
            int status = NativeMethods.ttt_detokenize(_handle, tokens, Native.Size(tokens.Length), (uint)flags, text,
                                                      Native.Size(text.Length), out len);
            if (status == (int)Status.BufferTooSmall)
            {
                text = new byte[Native.ToInt(len)];
                status = NativeMethods.ttt_detokenize(_handle, tokens, Native.Size(tokens.Length), (uint)flags, text,
                                                      Native.Size(text.Length), out len);
            }
            Native.Check(status);
            int count = Native.ToInt(len);
            if (count != text.Length) Array.Resize(ref text, count);
            return text;
        }

        /// <summary>The raw bytes one token contributes to the text (may be an incomplete UTF-8 sequence).</summary>
        public byte[] TokenToPiece(int token)
        {
            ThrowIfDisposed();
            byte[] buf = new byte[32];
            UIntPtr len;
            int status = NativeMethods.ttt_token_to_piece(_handle, token, buf, Native.Size(buf.Length), out len);
            if (status == (int)Status.BufferTooSmall)
            {
                buf = new byte[Native.ToInt(len)];
                status = NativeMethods.ttt_token_to_piece(_handle, token, buf, Native.Size(buf.Length), out len);
            }
            Native.Check(status);
            int count = Native.ToInt(len);
            if (count != buf.Length) Array.Resize(ref buf, count);
            return buf;
        }

        /// <summary>True if the token ends generation (EOS and other end-of-turn tokens).</summary>
        public bool IsEog(int token)
        {
            ThrowIfDisposed();
            int eog;
            Native.Check(NativeMethods.ttt_token_is_eog(_handle, token, out eog));
            return eog != 0;
        }

        /// <summary>The model's own chat template (from its tokenizer_config.json), or null when it has none.</summary>
        public string ChatTemplate
        {
            get
            {
                ThrowIfDisposed();
                byte[] buf = new byte[4096];
                UIntPtr len;
                int status = NativeMethods.ttt_model_chat_template(_handle, buf, Native.Size(buf.Length), out len);
                if (status == (int)Status.BufferTooSmall)
                {
                    buf = new byte[Native.ToInt(len)];
                    status = NativeMethods.ttt_model_chat_template(_handle, buf, Native.Size(buf.Length), out len);
                }
                Native.Check(status);
                int count = Native.ToInt(len);
                return count == 0 ? null : Utf8.Decode(buf, count);
            }
        }

        /// <summary>A conversation as prompt text in the model's chat template (or <paramref name="chatTemplate"/>),
        /// as Hugging Face's apply_chat_template(tokenize=False). <paramref name="extraJson"/>: null or a JSON object
        /// of further template variables, e.g. {"tools": [...]}. Tokenize the result with TokenizeFlags.ParseSpecial.
        /// Throws BitTttFormatException for a bad template (its line and column in the message),
        /// BitTttArgumentException when the template refuses the conversation, BitTttUnsupportedException when
        /// the model has no template and none is given.</summary>
        public string ApplyChatTemplate(IList<ChatMessage> messages, bool addGenerationPrompt = true,
                                        string chatTemplate = null, string extraJson = null,
                                        string bosToken = null, string eosToken = null)
        {
            ThrowIfDisposed();
            return ChatTemplates.Render(this, messages, addGenerationPrompt, chatTemplate, extraJson, bosToken, eosToken);
        }

        /// <summary>Releases the model. Contexts created on it keep working (they hold it alive until disposed).
        /// Safe to call twice.</summary>
        public void Dispose()
        {
            _disposed = true;
            _handle.Dispose();
        }
    }

    // =================================================================================================================
    // Context
    // =================================================================================================================

    /// <summary>One conversation, one game character, one soul. Use from one thread at a time; Cancel() from any.</summary>
    public sealed class Context : IDisposable
    {
        private readonly ContextHandle _handle;
        private readonly Model _model;
        private readonly int _vocab;
        private StopReason _lastStop;
        private volatile bool _disposed;

        /// <summary>Creates a context with a fresh (zero) soul on model. The context keeps the model alive.</summary>
        public Context(Model model, ContextParams options = null)
        {
            if (model == null) throw new ArgumentNullException("model");
            ModelHandle mh = model.Handle; // throws ObjectDisposedException if the model is disposed
            NativeMethods.ttt_context_params p = ContextParams.ToNative(options);
            ContextHandle h;
            int status = NativeMethods.ttt_create(mh, ref p, out h);
            if (status != 0 || h.IsInvalid)
            {
                h.Dispose();
                Native.Check(status);
                throw new BitTttInternalException(Status.Panic, "the library returned success but no context");
            }
            try
            {
                h.HoldModel(mh);
            }
            catch
            {
                h.Dispose();
                throw;
            }
            _handle = h;
            _model = model;
            _vocab = model.VocabSizeUnchecked;
        }

        /// <summary>The native handle, for NativeMethods calls.</summary>
        public ContextHandle Handle { get { ThrowIfDisposed(); return _handle; } }

        public Model Model { get { return _model; } }

        public bool IsDisposed { get { return _disposed; } }

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException("BitTtt.Context");
        }

        // ---- forward ----

        /// <summary>Runs tokens through the model (the soul learns every token) and returns the logits after the last
        /// one (VocabSize floats).</summary>
        public float[] Forward(params int[] tokens)
        {
            float[] logits = new float[_vocab];
            Forward(tokens, logits);
            return logits;
        }

        /// <summary>Like Forward(tokens), writing into logits (null: none wanted; else at least VocabSize floats) to avoid
        /// an allocation per call.</summary>
        public void Forward(int[] tokens, float[] logits)
        {
            if (tokens == null) throw new ArgumentNullException("tokens");
            if (logits != null && logits.Length < _vocab)
                throw new ArgumentException("logits has " + logits.Length + " floats; the model needs " + _vocab, "logits");
            ThrowIfDisposed();
            Native.Check(NativeMethods.ttt_forward(_handle, tokens, Native.Size(tokens.Length), logits));
        }

        /// <summary>The logits of every position: tokens.Length x VocabSize floats, row-major.</summary>
        public float[] ForwardAll(int[] tokens)
        {
            if (tokens == null) throw new ArgumentNullException("tokens");
            ThrowIfDisposed();
            float[] all = new float[checked(tokens.Length * _vocab)];
            Native.Check(NativeMethods.ttt_forward_all(_handle, tokens, Native.Size(tokens.Length), all));
            return all;
        }

        /// <summary>Steps many contexts of one model together (many NPCs per frame), reading the weights once:
        /// tokens[i] (at least one id) runs on contexts[i]. Returns contexts.Length x VocabSize logits, row i after
        /// context i's last token: exactly what Forward on each context alone gives. Throws before any soul changes
        /// when an id is out of range, a context repeats, belongs to another model, or is busy.</summary>
        public static float[] ForwardBatch(Context[] contexts, int[][] tokens)
        {
            if (contexts == null) throw new ArgumentNullException("contexts");
            if (tokens == null) throw new ArgumentNullException("tokens");
            if (contexts.Length != tokens.Length)
                throw new ArgumentException("one token array per context: " + contexts.Length + " contexts, " +
                                            tokens.Length + " token arrays", "tokens");
            if (contexts.Length == 0) throw new ArgumentException("at least one context is needed", "contexts");
            var handles = new IntPtr[contexts.Length];
            var counts = new UIntPtr[contexts.Length];
            int total = 0;
            for (int i = 0; i < contexts.Length; i++)
            {
                if (contexts[i] == null) throw new ArgumentNullException("contexts[" + i + "]");
                if (tokens[i] == null) throw new ArgumentNullException("tokens[" + i + "]");
                contexts[i].ThrowIfDisposed();
                counts[i] = Native.Size(tokens[i].Length);
                total = checked(total + tokens[i].Length);
            }
            var flat = new int[total];
            int at = 0;
            foreach (int[] t in tokens)
            {
                Array.Copy(t, 0, flat, at, t.Length);
                at += t.Length;
            }
            float[] logits = new float[checked(contexts.Length * contexts[0]._vocab)];
            var added = new bool[contexts.Length];
            try
            {
                // Each handle is kept alive for the call (as a SafeHandle argument would be).
                for (int i = 0; i < contexts.Length; i++)
                {
                    contexts[i]._handle.DangerousAddRef(ref added[i]);
                    handles[i] = contexts[i]._handle.DangerousGetHandle();
                }
                Native.Check(NativeMethods.ttt_forward_batch(handles, Native.Size(contexts.Length), flat, counts, logits));
            }
            finally
            {
                for (int i = 0; i < contexts.Length; i++)
                    if (added[i]) contexts[i]._handle.DangerousRelease();
            }
            return logits;
        }

        /// <summary>Clears the soul (zero state, soul level and position 0).</summary>
        public void Reset()
        {
            ThrowIfDisposed();
            Native.Check(NativeMethods.ttt_reset(_handle));
        }

        /// <summary>Stops the work in progress on this context at the next token (Forward, Learn, Sleep, a generation);
        /// that call throws BitTttAbortedException. Callable from any thread. A cancel that arrives after the work ended
        /// is cleared by the next work, so it never stops future work; conversely a cancel that lands just before the
        /// work starts is cleared too — when the timing is uncertain, cancel again until your worker has returned.
        /// Does nothing on a disposed context.</summary>
        public void Cancel()
        {
            if (_disposed) return;
            try
            {
                Native.Check(NativeMethods.ttt_cancel(_handle));
            }
            catch (ObjectDisposedException)
            {
                // disposed by another thread meanwhile: nothing left to cancel
            }
        }

        /// <summary>Tokens seen since the last reset.</summary>
        public ulong Position
        {
            get
            {
                ThrowIfDisposed();
                ulong v;
                Native.Check(NativeMethods.ttt_get_position(_handle, out v));
                return v;
            }
        }

        /// <summary>Tokens the soul has learned in total (kept across save/load).</summary>
        public ulong SoulLevel
        {
            get
            {
                ThrowIfDisposed();
                ulong v;
                Native.Check(NativeMethods.ttt_get_soul_level(_handle, out v));
                return v;
            }
        }

        /// <summary>Per-context performance counters.</summary>
        public PerfCounters Perf
        {
            get
            {
                ThrowIfDisposed();
                var p = new NativeMethods.ttt_perf();
                p.struct_size = (uint)Marshal.SizeOf(typeof(NativeMethods.ttt_perf));
                Native.Check(NativeMethods.ttt_get_perf(_handle, ref p));
                return new PerfCounters
                {
                    PromptTokens = p.prompt_tokens, PromptSeconds = p.prompt_seconds,
                    GeneratedTokens = p.generated_tokens, GenerationSeconds = p.generation_seconds,
                };
            }
        }

        // ---- souls ----

        /// <summary>Saves the soul to a file, crash-safely (temp file, fsync, rename).</summary>
        public void SaveSoul(string path)
        {
            byte[] p = Utf8.Z(path, "path");
            ThrowIfDisposed();
            Native.Check(NativeMethods.ttt_save_soul(_handle, p));
        }

        /// <summary>Loads a soul file. A soul of another model is refused (BitTttIncompatibleException) unless force
        /// is true and the dimensions match. On failure the soul is unchanged.</summary>
        public void LoadSoul(string path, bool force = false)
        {
            byte[] p = Utf8.Z(path, "path");
            ThrowIfDisposed();
            Native.Check(NativeMethods.ttt_load_soul(_handle, p, force ? NativeMethods.TTT_SOUL_FORCE : 0u));
        }

        /// <summary>The soul as bytes, for a game's own save system (same format as a .soul file).</summary>
        public byte[] GetSoulBytes()
        {
            ThrowIfDisposed();
            UIntPtr size;
            int status = NativeMethods.ttt_save_soul_buffer(_handle, null, UIntPtr.Zero, out size);
            if (status != (int)Status.BufferTooSmall) Native.Check(status);
            byte[] buf = new byte[Native.ToInt(size)];
            Native.Check(NativeMethods.ttt_save_soul_buffer(_handle, buf, Native.Size(buf.Length), out size));
            if (Native.ToInt(size) != buf.Length) Array.Resize(ref buf, Native.ToInt(size));
            return buf;
        }

        /// <summary>Restores a soul from GetSoulBytes() output or a .soul file's bytes. Same rules as LoadSoul.</summary>
        public void LoadSoulBytes(byte[] soul, bool force = false)
        {
            if (soul == null) throw new ArgumentNullException("soul");
            ThrowIfDisposed();
            Native.Check(NativeMethods.ttt_load_soul_buffer(_handle, soul, Native.Size(soul.Length),
                                                            force ? NativeMethods.TTT_SOUL_FORCE : 0u));
        }

        // ---- generation ----

        /// <summary>Why the last generation on this context ended (None while one is running).</summary>
        public StopReason LastStopReason { get { return _lastStop; } }

        /// <summary>Starts a generation: tokenizes the prompt and runs it through the model (the soul learns it).
        /// Then call GenerateNext until its StopReason is not None. Use this pair to drive generation from a game loop
        /// (a token per frame, many NPCs interleaved).</summary>
        public void GenerateBegin(string prompt, GenerateOptions options = null)
        {
            byte[] text = Utf8.Bytes(prompt);
            ThrowIfDisposed();
            _lastStop = StopReason.None;
            using (var scratch = new NativeScratch())
            {
                NativeMethods.ttt_generate_params p = GenerateOptions.ToNative(options, scratch);
                Native.Check(NativeMethods.ttt_generate_begin(_handle, text, Native.Size(text.Length), ref p));
            }
        }

        /// <summary>Produces one token and the text that became complete with it (possibly empty).</summary>
        public GeneratedToken GenerateNext()
        {
            ThrowIfDisposed();
            int token, stop;
            IntPtr text;
            UIntPtr len;
            Native.Check(NativeMethods.ttt_generate_next(_handle, out token, out text, out len, out stop));
            _lastStop = (StopReason)stop;
            // The text pointer is valid until the next call on this context: copy it now.
            return new GeneratedToken { Token = token, Text = Utf8.Decode(text, (long)len.ToUInt64()), StopReason = (StopReason)stop };
        }

        /// <summary>Pull-style generation: the prompt is run now (errors throw here); enumerating yields each non-empty
        /// piece of complete UTF-8 text until the generation ends (then see LastStopReason). Enumerate once, on one
        /// thread; Cancel() from another thread makes the enumeration throw BitTttAbortedException.</summary>
        public IEnumerable<string> Generate(string prompt, GenerateOptions options = null)
        {
            GenerateBegin(prompt, options);
            return Pieces();
        }

        /// <summary>Like Generate, but yields every step with its token id (including steps with empty text).</summary>
        public IEnumerable<GeneratedToken> GenerateTokens(string prompt, GenerateOptions options = null)
        {
            GenerateBegin(prompt, options);
            return Steps();
        }

        private IEnumerable<string> Pieces()
        {
            foreach (GeneratedToken step in Steps())
                if (step.Text.Length > 0) yield return step.Text;
        }

        private IEnumerable<GeneratedToken> Steps()
        {
            for (;;)
            {
                GeneratedToken step = GenerateNext();
                yield return step;
                if (step.StopReason != StopReason.None) yield break;
            }
        }

        /// <summary>Generates and returns the whole text.</summary>
        public string GenerateText(string prompt, GenerateOptions options = null)
        {
            var sb = new StringBuilder();
            foreach (string piece in Generate(prompt, options)) sb.Append(piece);
            return sb.ToString();
        }

        /// <summary>Streaming generation (ttt_generate): onText is called on this thread with each non-empty piece of
        /// text; return false to stop (StopReason.Callback). An exception thrown by onText stops generation and is
        /// rethrown here.</summary>
        public StopReason Generate(string prompt, GenerateOptions options, Func<string, bool> onText)
        {
            if (onText == null) throw new ArgumentNullException("onText");
            return Generate(prompt, options, (text, token) => onText(text));
        }

        /// <summary>Streaming generation; onText also receives the token that completed the text.</summary>
        public StopReason Generate(string prompt, GenerateOptions options, Func<string, int, bool> onText)
        {
            if (onText == null) throw new ArgumentNullException("onText");
            byte[] text = Utf8.Bytes(prompt);
            ThrowIfDisposed();
            _lastStop = StopReason.None;
            using (var scratch = new NativeScratch())
            {
                NativeMethods.ttt_generate_params p = GenerateOptions.ToNative(options, scratch);
                var state = new CallbackState { Text = onText };
                IntPtr user = scratch.Pin(state);
                int stop;
                int status = NativeMethods.ttt_generate(_handle, text, Native.Size(text.Length), ref p,
                                                        CallbackState.TextDelegate, user, out stop);
                state.Finish(status);
                _lastStop = (StopReason)stop;
                return _lastStop;
            }
        }

        // ---- learning and sleep ----

        /// <summary>Runs text through the model so the soul learns it, without generating. Returns the tokens learned.
        /// Cancellable (the soul keeps what it learned).</summary>
        public int Learn(string text, TokenizeFlags flags = TokenizeFlags.AddSpecial)
        {
            byte[] t = Utf8.Bytes(text);
            ThrowIfDisposed();
            UIntPtr n;
            Native.Check(NativeMethods.ttt_learn(_handle, t, Native.Size(t.Length), (uint)flags, out n));
            return Native.ToInt(n);
        }

        /// <summary>Replays memories (Library.Remember) into the soul. Returns the tokens learned. Cancellable with
        /// Cancel() or the progress callback; the soul keeps what it learned before the stop.</summary>
        public int Sleep(SleepOptions options)
        {
            if (options == null) throw new ArgumentNullException("options");
            ThrowIfDisposed();
            using (var scratch = new NativeScratch())
            {
                NativeMethods.ttt_sleep_params p = options.ToNative(scratch);
                UIntPtr n;
                int status = NativeMethods.ttt_sleep(_handle, ref p, out n);
                if (p.progress_user_data != IntPtr.Zero)
                    ((CallbackState)GCHandle.FromIntPtr(p.progress_user_data).Target).Finish(status);
                Native.Check(status);
                return Native.ToInt(n);
            }
        }

        /// <summary>Destroys the context (after a call running on another thread returns). Safe to call twice.</summary>
        public void Dispose()
        {
            _disposed = true;
            _handle.Dispose();
        }
    }

    // =================================================================================================================
    // Layer: upstream's stand-alone TTT layer (the legacy Bit_TTT.dll API), deterministic
    // =================================================================================================================

    public sealed class Layer : IDisposable
    {
        private readonly LayerHandle _handle;
        private readonly int _dim;
        private volatile bool _disposed;

        private Layer(LayerHandle handle, int dim)
        {
            _handle = handle;
            _dim = dim;
        }

        /// <summary>A layer with random ternary projections (seed 0), as upstream's legacy DLL. hiddenDim &gt;= 4.</summary>
        public static Layer Create(int hiddenDim, float innerLr)
        {
            if (hiddenDim < 0) throw new ArgumentOutOfRangeException("hiddenDim", hiddenDim, "hiddenDim must be in [4, 65536]");
            Library.EnsureCompatible();
            LayerHandle h;
            int status = NativeMethods.ttt_layer_create(Native.Size(hiddenDim), innerLr, out h);
            return Wrap(status, h, hiddenDim);
        }

        /// <summary>Same with an explicit seed (same seed =&gt; same layer on every machine).</summary>
        public static Layer Create(int hiddenDim, float innerLr, ulong seed)
        {
            if (hiddenDim < 0) throw new ArgumentOutOfRangeException("hiddenDim", hiddenDim, "hiddenDim must be in [4, 65536]");
            Library.EnsureCompatible();
            LayerHandle h;
            int status = NativeMethods.ttt_layer_create_seeded(Native.Size(hiddenDim), innerLr, seed, out h);
            return Wrap(status, h, hiddenDim);
        }

        private static Layer Wrap(int status, LayerHandle h, int dim)
        {
            if (status != 0 || h.IsInvalid)
            {
                h.Dispose();
                Native.Check(status);
                throw new BitTttInternalException(Status.Panic, "the library returned success but no layer");
            }
            return new Layer(h, dim);
        }

        public int HiddenDim { get { return _dim; } }

        public LayerHandle Handle { get { ThrowIfDisposed(); return _handle; } }

        public bool IsDisposed { get { return _disposed; } }

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException("BitTtt.Layer");
        }

        /// <summary>input: seqLen x HiddenDim floats, row-major (seqLen = input.Length / HiddenDim). Each call starts
        /// from a zero state.</summary>
        public float[] Forward(float[] input)
        {
            if (input == null) throw new ArgumentNullException("input");
            if (_dim == 0 || input.Length % _dim != 0)
                throw new ArgumentException("input has " + input.Length + " floats, not a multiple of HiddenDim " + _dim, "input");
            float[] output = new float[input.Length];
            Forward(input, input.Length / _dim, output);
            return output;
        }

        public void Forward(float[] input, int seqLen, float[] output)
        {
            if (input == null) throw new ArgumentNullException("input");
            if (output == null) throw new ArgumentNullException("output");
            long need = (long)seqLen * _dim;
            if (seqLen < 0 || input.Length < need || output.Length < need)
                throw new ArgumentException("input and output need seqLen x HiddenDim = " + need + " floats");
            ThrowIfDisposed();
            Native.Check(NativeMethods.ttt_layer_forward(_handle, input, Native.Size(seqLen), output));
        }

        /// <summary>Safe to call twice.</summary>
        public void Dispose()
        {
            _disposed = true;
            _handle.Dispose();
        }
    }
}
