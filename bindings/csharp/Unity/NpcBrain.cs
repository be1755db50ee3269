// NpcBrain.cs — a Unity sample: an NPC that remembers.
//
// Put it on a GameObject, point it at a .bitt model (a TextAsset with the .bytes extension works on every platform,
// Android included; or a path under StreamingAssets on desktop and iOS), give the character an id and a persona, and
// call Ask("...") from your dialogue UI. Subscribe to PieceReceived / ReplyFinished to show the reply as it streams.
//
// What it shows (docs/unity.md explains each rule):
//   - one model for all NPCs: loaded once, shared, reference counted, freed when the last NPC goes away;
//   - one Context (one soul) per character: the persona is learned into the soul once, every conversation keeps
//     shaping it, and it is saved and restored across sessions (PlayerPrefs as base64, or a .soul file under
//     Application.persistentDataPath written crash-safely by the library);
//   - generation on a worker thread (Task.Run); results come back through a ConcurrentQueue drained in Update(),
//     so no Unity API is ever called off the main thread, and the main thread never blocks on the model;
//   - OnDisable/OnDestroy cancel the worker, wait for it, save the soul and dispose the context, so leaving play
//     mode or unloading the scene never leaves native work running.
using System;
using System.Collections.Concurrent;
using System.IO;
using System.Text;
using System.Threading.Tasks;
using BitTtt;
using UnityEngine;

[DisallowMultipleComponent]
public sealed class NpcBrain : MonoBehaviour
{
    public enum SoulStorage
    {
        /// <summary>Base64 in PlayerPrefs under "bit_ttt.soul.&lt;npcId&gt;" (small souls; simplest).</summary>
        PlayerPrefs,
        /// <summary>&lt;persistentDataPath&gt;/souls/&lt;npcId&gt;.soul, written crash-safely (temp file, fsync, rename).</summary>
        PersistentDataFile,
    }

    [Header("Model (loaded once, shared by every NPC)")]
    [Tooltip("A .bitt model imported as a TextAsset (rename it to .bytes). Works on every platform, Android included.")]
    [SerializeField] private TextAsset modelAsset;
    [Tooltip("Used when no modelAsset is set: a path relative to StreamingAssets (not on Android: files inside the APK are not plain files).")]
    [SerializeField] private string modelPath = "bit_ttt/demo.bitt";

    [Header("Character")]
    [Tooltip("Unique per character: names its saved soul and its memories.")]
    [SerializeField] private string npcId = "blacksmith";
    [SerializeField] private string displayName = "Ayla";
    [TextArea(3, 8)]
    [SerializeField] private string persona = "I am Ayla, the blacksmith of Oakvale. I forge swords and I distrust wizards.";
    [SerializeField] private SoulStorage soulStorage = SoulStorage.PersistentDataFile;
    [Tooltip("Log every exchange to <persistentDataPath>/memories/<npcId>/ so SleepOnMemories() can replay them.")]
    [SerializeField] private bool keepMemories = true;

    [Header("Sampling")]
    [SerializeField] private int maxTokens = 80;
    [Range(0f, 2f)]
    [SerializeField] private float temperature = 0.8f;

    /// <summary>Main thread: each piece of the reply as it is generated.</summary>
    public event Action<string> PieceReceived;
    /// <summary>Main thread: the whole reply once generation ended (also after StopTalking, with what was said).</summary>
    public event Action<string> ReplyFinished;

    /// <summary>True while the worker runs (answering, learning the persona, or sleeping); Ask is refused meanwhile.</summary>
    public bool IsThinking { get { return _worker != null && !_worker.IsCompleted; } }
    /// <summary>Tokens this character's soul has learned in total (updated after each reply).</summary>
    public ulong SoulLevel { get; private set; }
    public string CurrentReply { get { return _reply.ToString(); } }

    // ---- the shared model ----------------------------------------------------------------------------------------

    private static class SharedModel
    {
        private static readonly object Gate = new object();
        private static Model _model;
        private static int _refs;

        public static Model Acquire(TextAsset asset, string streamingPath)
        {
            lock (Gate)
            {
                if (_model == null)
                {
                    // Loading the small demo model takes milliseconds; for a large one, load it on a worker during a
                    // loading screen before the NPCs wake up.
                    _model = asset != null ? Model.LoadBitt(asset.bytes) : Model.Load(streamingPath);
                }
                ++_refs;
                return _model;
            }
        }

        public static void Release()
        {
            lock (Gate)
            {
                if (_refs == 0) return;
                if (--_refs == 0)
                {
                    _model.Dispose(); // contexts still alive keep the native model until they are disposed
                    _model = null;
                }
            }
        }

        public static void ResetForNewPlaySession()
        {
            lock (Gate)
            {
                if (_model != null) _model.Dispose();
                _model = null;
                _refs = 0;
            }
        }
    }

    // With "Enter Play Mode Options" (no domain reload) statics survive between play sessions: start clean.
    [RuntimeInitializeOnLoadMethod(RuntimeInitializeLoadType.SubsystemRegistration)]
    private static void ResetStatics() { SharedModel.ResetForNewPlaySession(); }

    // ---- per-character state -------------------------------------------------------------------------------------

    private enum Kind { Piece, Finished, Saved, Failed }

    private struct Message
    {
        public Kind Kind;
        public string Text;
        public byte[] Soul;
        public ulong SoulLevel;
        public Exception Error;
    }

    private readonly ConcurrentQueue<Message> _inbox = new ConcurrentQueue<Message>();
    private readonly StringBuilder _reply = new StringBuilder();
    private Context _context;
    private Task _worker;
    private bool _holdsModel;
    // Captured on the main thread in OnEnable: the worker never touches Unity APIs.
    private string _soulFile, _memoriesDir, _prefsKey;

    private void OnEnable()
    {
        _prefsKey = "bit_ttt.soul." + npcId;
        _soulFile = Path.Combine(Path.Combine(Application.persistentDataPath, "souls"), npcId + ".soul");
        _memoriesDir = Path.Combine(Path.Combine(Application.persistentDataPath, "memories"), npcId);
        try
        {
            Model model = SharedModel.Acquire(modelAsset, Path.Combine(Application.streamingAssetsPath, modelPath));
            _holdsModel = true;
            _context = new Context(model);
        }
        catch (Exception e)
        {
            Debug.LogException(e, this);
            ReleaseEverything();
            enabled = false;
            return;
        }
        RestoreSoul();
        SoulLevel = _context.SoulLevel;
        if (SoulLevel == 0 && !string.IsNullOrEmpty(persona))
        {
            // A new character: learn the persona into the soul, off the main thread.
            Context ctx = _context;
            string text = persona;
            SoulStorage storage = soulStorage;
            string file = _soulFile;
            _worker = Task.Run(() => Work(() =>
            {
                ctx.Learn(text);
                PostSaved(ctx, storage, file);
            }));
        }
    }

    /// <summary>Main thread. Starts a reply on the worker; false while the NPC is still thinking.</summary>
    public bool Ask(string playerLine)
    {
        if (_context == null || IsThinking || string.IsNullOrEmpty(playerLine)) return false;
        _reply.Length = 0;
        // Everything the worker needs is captured here, on the main thread.
        Context ctx = _context;
        string prompt = "Player: " + playerLine + "\n" + displayName + ":";
        var options = new GenerateOptions
        {
            MaxTokens = maxTokens,
            Temperature = temperature,
            Seed = (ulong)DateTime.UtcNow.Ticks,
            StopStrings = new[] { "\nPlayer:" },
        };
        string memories = keepMemories ? _memoriesDir : null;
        SoulStorage storage = soulStorage;
        string file = _soulFile;
        _worker = Task.Run(() => Work(() =>
        {
            if (memories != null) Library.Remember(memories, "user", playerLine);
            var said = new StringBuilder();
            try
            {
                foreach (string piece in ctx.Generate(prompt, options))
                {
                    said.Append(piece);
                    Post(new Message { Kind = Kind.Piece, Text = piece });
                }
            }
            catch (BitTttAbortedException)
            {
                // StopTalking() or OnDisable: keep what was said; the soul keeps what it learned.
            }
            if (memories != null && said.Length > 0) Library.Remember(memories, "assistant", said.ToString());
            PostSaved(ctx, storage, file);
            Post(new Message { Kind = Kind.Finished, Text = said.ToString() });
        }));
        return true;
    }

    /// <summary>Main thread. Interrupts the reply (or the sleep) in progress.</summary>
    public void StopTalking()
    {
        if (_context != null && IsThinking) _context.Cancel();
    }

    /// <summary>Main thread. Replays this character's logged conversations into its soul, on the worker
    /// (e.g. when the player rests at an inn). Returns false while the NPC is busy.</summary>
    public bool SleepOnMemories()
    {
        if (_context == null || IsThinking || !Directory.Exists(_memoriesDir)) return false;
        Context ctx = _context;
        var options = new SleepOptions { MemoriesDir = _memoriesDir, MaxDays = 7 };
        SoulStorage storage = soulStorage;
        string file = _soulFile;
        _worker = Task.Run(() => Work(() =>
        {
            try
            {
                ctx.Sleep(options);
            }
            catch (BitTttAbortedException)
            {
                // woken early: the soul keeps what it learned
            }
            PostSaved(ctx, storage, file);
        }));
        return true;
    }

    /// <summary>Main thread, while not thinking: the soul as bytes for a game's own save system.</summary>
    public byte[] CaptureSoul()
    {
        return _context != null && !IsThinking ? _context.GetSoulBytes() : null;
    }

    /// <summary>Main thread, while not thinking: restores a soul from CaptureSoul() bytes.</summary>
    public void RestoreSoul(byte[] soul)
    {
        if (_context == null || IsThinking || soul == null) return;
        _context.LoadSoulBytes(soul);
        SoulLevel = _context.SoulLevel;
        SaveNow();
    }

    // Worker thread: runs job; any failure goes to the main thread as a message (never a Unity call here).
    private void Work(Action job)
    {
        try
        {
            job();
        }
        catch (Exception e)
        {
            Post(new Message { Kind = Kind.Failed, Error = e });
        }
    }

    private void Post(Message m) { _inbox.Enqueue(m); }

    // Worker thread (it owns ctx right now): saves the soul. A file is written by the library itself, crash-safely;
    // for PlayerPrefs the bytes travel to the main thread, the only thread allowed to call PlayerPrefs.
    private void PostSaved(Context ctx, SoulStorage storage, string file)
    {
        Post(new Message { Kind = Kind.Saved, Soul = SaveSoul(ctx, storage, file), SoulLevel = ctx.SoulLevel });
    }

    private static byte[] SaveSoul(Context ctx, SoulStorage storage, string file)
    {
        if (storage == SoulStorage.PlayerPrefs) return ctx.GetSoulBytes();
        Directory.CreateDirectory(Path.GetDirectoryName(file));
        ctx.SaveSoul(file); // temp file, fsync, rename: a crash never leaves a half-written soul
        return null;
    }

    private void Update() { Drain(); }

    // Main thread: hands the worker's results to Unity.
    private void Drain()
    {
        Message m;
        while (_inbox.TryDequeue(out m))
        {
            switch (m.Kind)
            {
                case Kind.Piece:
                    _reply.Append(m.Text);
                    if (PieceReceived != null) PieceReceived(m.Text);
                    break;
                case Kind.Finished:
                    if (ReplyFinished != null) ReplyFinished(m.Text);
                    break;
                case Kind.Saved:
                    SoulLevel = m.SoulLevel;
                    if (m.Soul != null) StoreInPlayerPrefs(m.Soul);
                    break;
                case Kind.Failed:
                    Debug.LogException(m.Error, this);
                    break;
            }
        }
    }

    // ---- saving and restoring the soul (main thread) --------------------------------------------------------------

    private void StoreInPlayerPrefs(byte[] soul)
    {
        PlayerPrefs.SetString(_prefsKey, Convert.ToBase64String(soul));
        PlayerPrefs.Save();
    }

    // Main thread, worker not running.
    private void SaveNow()
    {
        try
        {
            byte[] soul = SaveSoul(_context, soulStorage, _soulFile);
            if (soul != null) StoreInPlayerPrefs(soul);
        }
        catch (Exception e)
        {
            Debug.LogException(e, this);
        }
    }

    private void RestoreSoul()
    {
        try
        {
            byte[] soul = null;
            if (soulStorage == SoulStorage.PlayerPrefs)
            {
                string b64 = PlayerPrefs.GetString(_prefsKey, "");
                if (b64.Length > 0) soul = Convert.FromBase64String(b64);
            }
            else if (File.Exists(_soulFile))
            {
                soul = File.ReadAllBytes(_soulFile);
            }
            if (soul != null) _context.LoadSoulBytes(soul); // a .soul file's bytes and GetSoulBytes() are one format
        }
        catch (BitTttException e)
        {
            // A soul of another model (the game shipped a new model) or damaged save data: start with a fresh soul.
            Debug.LogWarning(displayName + " could not restore its soul, starting fresh: " + e.Message, this);
        }
        catch (Exception e)
        {
            Debug.LogException(e, this);
        }
    }

    // ---- shutdown ---------------------------------------------------------------------------------------------------

    private void OnDisable() { Shutdown(); }

    private void OnDestroy() { Shutdown(); }

    private void Shutdown()
    {
        if (_context != null && _worker != null)
        {
            // Cancel until the worker has returned: a cancel that lands just before its call starts is cleared by
            // that call, so one cancel alone might miss. Each wait is short; the model stops at the next token.
            while (!_worker.IsCompleted)
            {
                _context.Cancel();
                _worker.Wait(10);
            }
        }
        _worker = null;
        Drain(); // take the worker's last messages (its soul save) on this, the main thread
        if (_context != null) SaveNow();
        ReleaseEverything();
    }

    private void ReleaseEverything()
    {
        if (_context != null) _context.Dispose();
        _context = null;
        if (_holdsModel) SharedModel.Release();
        _holdsModel = false;
    }
}
