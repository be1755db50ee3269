#include "train/data.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "common/error.h"
#include "common/rng.h"
#include "io/checksum.h"
#include "io/file.h"
#include "io/json.h"
#include "tokenizer/tokenizer.h"

namespace ttt {

namespace {

std::string os_reason() { return std::strerror(errno); }

uint32_t load_u32_le(const uint8_t* p) {
    return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

void store_u32_le(uint8_t* p, uint32_t v) {
    p[0] = uint8_t(v);
    p[1] = uint8_t(v >> 8);
    p[2] = uint8_t(v >> 16);
    p[3] = uint8_t(v >> 24);
}

}  // namespace

// ------------------------------------------------------------------------------------------------ TokenData

TokenData TokenData::open(const std::string& path, int32_t vocab_size) {
    if (vocab_size <= 0) fail_argument("token file '" + path + "': vocab size must be positive");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail_io("cannot open token file '" + path + "': " + os_reason());
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        std::string r = os_reason();
        ::close(fd);
        fail_io("cannot stat token file '" + path + "': " + r);
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        fail_io("token file '" + path + "' is a directory");
    }
    const size_t size = static_cast<size_t>(st.st_size);
    if (size == 0) {
        ::close(fd);
        fail_format("token file '" + path + "' is empty (0 tokens)");
    }
    if (size % 4 != 0) {
        ::close(fd);
        fail_format("token file '" + path + "' has " + std::to_string(size) +
                    " bytes, not a multiple of 4 (a .u32 file holds 4-byte little-endian token ids); it is truncated "
                    "or not a token file");
    }
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    std::string reason = os_reason();
    ::close(fd);
    if (map == MAP_FAILED) fail_io("cannot map token file '" + path + "': " + reason);
    TokenData d;
    d.path_ = path;
    d.map_ = map;
    d.map_size_ = size;
    d.bytes_ = static_cast<const uint8_t*>(map);
    d.n_tokens_ = size / 4;
    const uint32_t limit = static_cast<uint32_t>(vocab_size);
    for (size_t i = 0; i < d.n_tokens_; ++i) {
        const uint32_t id = load_u32_le(d.bytes_ + 4 * i);
        if (id >= limit)
            fail_format("token file '" + path + "': token id " + std::to_string(id) + " at byte offset " +
                        std::to_string(4 * i) + " (token " + std::to_string(i) + ") is not below the vocab size " +
                        std::to_string(vocab_size) + " (was the file made with another tokenizer?)");
    }
    return d;
}

TokenData::TokenData(TokenData&& o) noexcept { *this = std::move(o); }

TokenData& TokenData::operator=(TokenData&& o) noexcept {
    if (this != &o) {
        if (map_) ::munmap(map_, map_size_);
        path_ = std::move(o.path_);
        bytes_ = o.bytes_;
        n_tokens_ = o.n_tokens_;
        map_ = o.map_;
        map_size_ = o.map_size_;
        o.bytes_ = nullptr;
        o.n_tokens_ = 0;
        o.map_ = nullptr;
        o.map_size_ = 0;
    }
    return *this;
}

TokenData::~TokenData() {
    if (map_) ::munmap(map_, map_size_);
}

int32_t TokenData::at(size_t i) const { return static_cast<int32_t>(load_u32_le(bytes_ + 4 * i)); }

void TokenData::copy(size_t start, size_t n, int32_t* out) const {
    const uint8_t* p = bytes_ + 4 * start;
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<int32_t>(load_u32_le(p + 4 * i));
}

void TokenData::require_window(int32_t context_len) const {
    const size_t need = static_cast<size_t>(context_len) + 1;
    if (n_tokens_ < need)
        fail_format("token file '" + path_ + "' holds " + std::to_string(n_tokens_) +
                    " tokens, fewer than one window of context_len + 1 = " + std::to_string(need) +
                    " tokens; use more text or a smaller --context-len");
}

// ------------------------------------------------------------------------------------------------ sampling

WindowSampler::WindowSampler(const TokenData* data, int32_t batch_size, int32_t context_len, uint64_t seed,
                             int32_t stream_windows)
    : data_(data), B_(batch_size), T_(context_len), J_(stream_windows), seed_(seed) {
    if (!data || batch_size <= 0 || context_len <= 0 || stream_windows <= 0) fail_argument("WindowSampler: bad arguments");
    if (stream_windows > 1 && int64_t(data->size()) < int64_t(stream_windows) * context_len + 1)
        fail_format("'" + data->path() + "' holds " + std::to_string(data->size()) + " tokens, fewer than one stream of " +
                    std::to_string(stream_windows) + " windows of " + std::to_string(context_len) +
                    " tokens needs (" + std::to_string(int64_t(stream_windows) * context_len + 1) + ")");
    data->require_window(context_len);
}

void WindowSampler::next(int32_t* inputs, int32_t* targets) {
    // The generator of batch k's starts depends only on (seed, k / J): splitmix64 expands them into a fresh
    // xoshiro state. With J = 1 this is one random window per row and batch.
    const uint64_t stream = position_ / uint64_t(J_), window = position_ % uint64_t(J_);
    uint64_t sm = seed_ ^ 0x5851f42d4c957f2dull;
    const uint64_t a = splitmix64_next(sm);
    Rng rng(a ^ (stream * 0xd1b54a32d192ed03ull + 0x9e3779b97f4a7c15ull));
    const size_t T = static_cast<size_t>(T_), span = T * size_t(J_);
    const uint64_t n_starts = static_cast<uint64_t>(data_->size() - span);  // stream starts 0 .. N-J·T-1
    for (int32_t r = 0; r < B_; ++r) {
        const size_t s = static_cast<size_t>(rng.below(n_starts)) + size_t(window) * T;
        data_->copy(s, T, inputs + size_t(r) * T);
        data_->copy(s + 1, T, targets + size_t(r) * T);
    }
    ++position_;
}

std::vector<size_t> eval_window_starts(size_t n_tokens, int32_t context_len, size_t count) {
    const size_t T = static_cast<size_t>(context_len);
    std::vector<size_t> starts;
    if (count == 0 || n_tokens < T + 1) return starts;
    const size_t last = n_tokens - T - 1;
    starts.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        // i·last/(count−1) without overflow for any realistic file (long double keeps 64 bits of mantissa).
        size_t s = count == 1 ? 0 : static_cast<size_t>((static_cast<long double>(last) * i) / (count - 1));
        starts.push_back(std::min(s, last));
    }
    return starts;
}

void fill_windows(const TokenData& data, const std::vector<size_t>& starts, int32_t context_len, int32_t* inputs,
                  int32_t* targets) {
    const size_t T = static_cast<size_t>(context_len);
    for (size_t r = 0; r < starts.size(); ++r) {
        data.copy(starts[r], T, inputs + r * T);
        data.copy(starts[r] + 1, T, targets + r * T);
    }
}

// ------------------------------------------------------------------------------------------------ meta

std::string meta_path_for(const std::string& u32_path) {
    const std::string ext = ".u32";
    if (u32_path.size() >= ext.size() && u32_path.compare(u32_path.size() - ext.size(), ext.size(), ext) == 0)
        return u32_path.substr(0, u32_path.size() - ext.size()) + ".meta.json";
    return u32_path + ".meta.json";
}

void write_data_meta(const std::string& path, const DataMeta& m) {
    std::string s = "{\"tokens\":" + std::to_string(m.tokens) + ",\"bytes\":" + std::to_string(m.bytes) +
                    ",\"documents\":" + std::to_string(m.documents) +
                    ",\"tokenizer_fingerprint\":" + json_quote(m.tokenizer_fingerprint) + "}\n";
    write_file_atomic(path, s);
}

bool read_data_meta(const std::string& path, DataMeta* out) {
    if (!file_exists(path)) return false;
    std::vector<uint8_t> bytes = read_file(path);
    auto doc = parse_json(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
    simdjson::dom::object obj;
    if (doc->root.get(obj) != simdjson::SUCCESS) fail_format(path + ": expected a JSON object");
    DataMeta m;
    int64_t v = 0;
    if (!json_get_int_opt(obj, "tokens", path, &v) || v < 0) fail_format(path + ": \"tokens\" missing or negative");
    m.tokens = uint64_t(v);
    if (!json_get_int_opt(obj, "bytes", path, &v) || v < 0) fail_format(path + ": \"bytes\" missing or negative");
    m.bytes = uint64_t(v);
    if (json_get_int_opt(obj, "documents", path, &v) && v >= 0) m.documents = uint64_t(v);
    json_get_string_opt(obj, "tokenizer_fingerprint", path, &m.tokenizer_fingerprint);
    *out = m;
    return true;
}

std::string tokenizer_fingerprint(const std::string& tokenizer_json) {
    Fnv64 h;
    h.add(tokenizer_json.data(), tokenizer_json.size());
    return hex64(h.state);
}

// ------------------------------------------------------------------------------------------------ AtomicFileWriter

// ------------------------------------------------------------------------------------------------ prepare_data

namespace {

struct InputFile {
    std::string path;
    int fd = -1;
    uint64_t size = 0;
    explicit InputFile(const std::string& p) : path(p) {
        fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail_io("cannot open input file '" + p + "': " + os_reason());
        struct stat st {};
        if (::fstat(fd, &st) != 0) fail_io("cannot stat input file '" + p + "': " + os_reason());
        if (S_ISDIR(st.st_mode)) fail_io("input '" + p + "' is a directory, expected a text file");
        size = static_cast<uint64_t>(st.st_size);
    }
    ~InputFile() {
        if (fd >= 0) ::close(fd);
    }
    // Read up to n bytes at offset into out (appended); returns the count read (short only at end of file).
    size_t read_at(uint64_t offset, size_t n, std::string& out) const {
        const size_t old = out.size();
        out.resize(old + n);
        size_t got = 0;
        while (got < n) {
            ssize_t r = ::pread(fd, &out[old + got], n - got, static_cast<off_t>(offset + got));
            if (r < 0) {
                if (errno == EINTR) continue;
                fail_io("cannot read input file '" + path + "': " + os_reason());
            }
            if (r == 0) break;
            got += static_cast<size_t>(r);
        }
        out.resize(old + got);
        return got;
    }
};

bool is_space_byte(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The byte offset where the held-out tail of the file starts (see prepare_data in data.h).
uint64_t find_val_cut(const InputFile& f, double val_fraction, size_t block) {
    const uint64_t size = f.size;
    if (val_fraction <= 0.0 || size == 0) return size;
    uint64_t split = static_cast<uint64_t>(std::floor(double(size) * (1.0 - val_fraction)));
    if (split == 0) split = 1;
    if (split >= size) return size;
    std::string buf;
    // Forward: the first line start p with split <= p < size, i.e. a '\n' at p-1 >= split-1.
    for (uint64_t off = split - 1; off < size;) {
        buf.clear();
        size_t got = f.read_at(off, block, buf);
        if (got == 0) break;
        size_t nl = buf.find('\n');
        if (nl != std::string::npos) {
            uint64_t p = off + nl + 1;
            if (p < size) return p;
            break;
        }
        off += got;
    }
    // Backward: the last line start p with 0 < p <= split.
    for (uint64_t end = split; end > 0;) {
        const uint64_t begin = end > block ? end - block : 0;
        buf.clear();
        f.read_at(begin, size_t(end - begin), buf);
        size_t nl = buf.rfind('\n');
        if (nl != std::string::npos) return begin + nl + 1;
        end = begin;
    }
    // One line: the nearest UTF-8 character boundary at or after the split point.
    buf.clear();
    f.read_at(split, 4, buf);
    uint64_t p = split;
    for (size_t i = 0; i < buf.size() && is_utf8_continuation(buf[i]); ++i) ++p;
    return p;
}

// Where to cut a text block so that it ends at a good place: after a newline followed by a non-space byte, else
// after any newline; 0 when there is none.
size_t block_cut(const std::string& buf) {
    size_t any = 0;
    for (size_t i = buf.size(); i-- > 0;) {
        if (buf[i] != '\n') continue;
        if (any == 0) any = i + 1;
        if (i + 1 < buf.size() && !is_space_byte(buf[i + 1])) return i + 1;
        if (buf.size() - i > (size_t(1) << 16) && any) break;  // do not scan a whole block of blank lines
    }
    return any;
}

// Cut a block that has no newline at the end of its last complete UTF-8 character.
size_t utf8_cut(const std::string& buf) {
    const size_t n = buf.size();
    if (n == 0) return 0;
    size_t q = n - 1;
    while (q > 0 && n - q < 4 && is_utf8_continuation(buf[q])) --q;
    const unsigned char lead = static_cast<unsigned char>(buf[q]);
    const size_t len = lead < 0x80 ? 1 : (lead >> 5) == 6 ? 2 : (lead >> 4) == 14 ? 3 : (lead >> 3) == 30 ? 4 : 1;
    if (q + len <= n || q == 0) return n;  // the last character is complete (or this is not UTF-8 at all)
    return q;
}

struct TokenSink {
    AtomicFileWriter* out;
    DataMeta* meta;
    std::vector<uint8_t> scratch;
    void put(const std::vector<int32_t>& ids) {
        scratch.resize(ids.size() * 4);
        for (size_t i = 0; i < ids.size(); ++i) store_u32_le(&scratch[4 * i], static_cast<uint32_t>(ids[i]));
        out->write(scratch.data(), scratch.size());
        meta->tokens += ids.size();
    }
};

// Tokenize bytes [begin, end) of the file into sink, block by block.
void tokenize_range(const Tokenizer& tok, const InputFile& f, uint64_t begin, uint64_t end, size_t block,
                    TokenSink& sink, uint64_t& done, uint64_t total,
                    const std::function<void(uint64_t, uint64_t)>& progress) {
    std::string buf;
    uint64_t off = begin;
    while (off < end || !buf.empty()) {
        if (off < end) {
            const size_t want = static_cast<size_t>(std::min<uint64_t>(block, end - off));
            const size_t got = f.read_at(off, want, buf);
            if (got != want)
                fail_io("input file '" + f.path + "' shrank while it was being read (expected " + std::to_string(end) +
                        " bytes)");
            off += got;
            done += got;
        }
        size_t cut = buf.size();
        if (off < end) {
            cut = block_cut(buf);
            if (cut == 0) {
                if (buf.size() < 4 * block) continue;  // a long line: read more before cutting
                cut = utf8_cut(buf);
            }
        }
        sink.put(tok.encode(std::string_view(buf.data(), cut), false, false));
        sink.meta->bytes += cut;
        buf.erase(0, cut);
        if (progress) progress(done, total);
    }
}

}  // namespace

namespace {
PrepareDataResult write_token_files(const Tokenizer& tokenizer, const std::vector<std::unique_ptr<InputFile>>& files,
                                    uint64_t total, const std::string& out_dir, const PrepareDataOptions& options,
                                    size_t block, int32_t eos);
}  // namespace

PrepareDataResult prepare_data(const Tokenizer& tokenizer, const std::vector<std::string>& inputs,
                               const std::string& out_dir, const PrepareDataOptions& options) {
    if (inputs.empty()) fail_argument("data preparation: no input files");
    if (!std::isfinite(options.val_fraction) || options.val_fraction < 0.0 || options.val_fraction > 0.9)
        fail_argument("data preparation: val fraction must be in [0, 0.9], is " + std::to_string(options.val_fraction));
    const size_t block = std::max<size_t>(options.block_bytes, 64);
    const int32_t eos = tokenizer.eos_id();
    if (eos < 0)
        fail_argument("data preparation: the tokenizer has no end-of-sequence token (e.g. <|endoftext|> or </s>), "
                      "so documents cannot be separated");
    std::vector<std::unique_ptr<InputFile>> files;  // opened first: a missing input creates nothing
    uint64_t total = 0;
    for (const std::string& p : inputs) {
        files.push_back(std::make_unique<InputFile>(p));
        total += files.back()->size;
    }

    // A failed run leaves no half-made output: folders it created are removed again (temp files go with them).
    std::error_code ec;
    std::filesystem::path created = std::filesystem::absolute(out_dir, ec);
    if (std::filesystem::exists(created, ec)) {
        created.clear();
    } else {
        while (created.has_parent_path() && created.parent_path() != created &&
               !std::filesystem::exists(created.parent_path(), ec))
            created = created.parent_path();
    }
    std::filesystem::create_directories(out_dir, ec);
    if (!is_directory(out_dir)) fail_io("cannot create output directory '" + out_dir + "': " + ec.message());
    try {
        return write_token_files(tokenizer, files, total, out_dir, options, block, eos);
    } catch (...) {
        if (!created.empty()) std::filesystem::remove_all(created, ec);
        throw;
    }
}

namespace {

PrepareDataResult write_token_files(const Tokenizer& tokenizer, const std::vector<std::unique_ptr<InputFile>>& files,
                                    uint64_t total, const std::string& out_dir, const PrepareDataOptions& options,
                                    size_t block, int32_t eos) {
    std::error_code ec;

    const std::string fp = tokenizer_fingerprint(tokenizer.json());
    const bool with_val = options.val_fraction > 0.0;
    const std::string train_path = out_dir + "/train.u32", val_path = out_dir + "/val.u32";
    PrepareDataResult res;
    res.train.tokenizer_fingerprint = res.val.tokenizer_fingerprint = fp;
    AtomicFileWriter train_out(train_path);
    std::unique_ptr<AtomicFileWriter> val_out;
    if (with_val) val_out = std::make_unique<AtomicFileWriter>(val_path);
    TokenSink train_sink{&train_out, &res.train, {}};
    TokenSink val_sink{val_out.get(), &res.val, {}};
    const std::vector<int32_t> eos_ids{eos};
    uint64_t done = 0;
    for (const auto& f : files) {
        const uint64_t cut = with_val ? find_val_cut(*f, options.val_fraction, block) : f->size;
        if (cut > 0) {
            tokenize_range(tokenizer, *f, 0, cut, block, train_sink, done, total, options.progress);
            train_sink.put(eos_ids);
            ++res.train.documents;
        }
        if (with_val && cut < f->size) {
            tokenize_range(tokenizer, *f, cut, f->size, block, val_sink, done, total, options.progress);
            val_sink.put(eos_ids);
            ++res.val.documents;
        }
    }
    if (res.train.tokens == 0) fail_argument("data preparation: the input files are empty; no training data");
    train_out.commit();
    write_data_meta(meta_path_for(train_path), res.train);
    if (with_val) {
        if (res.val.tokens == 0) {
            val_out.reset();  // nothing held out (inputs too short): no val file rather than an empty one
            std::filesystem::remove(val_path, ec);
            std::filesystem::remove(meta_path_for(val_path), ec);
        } else {
            val_out->commit();
            write_data_meta(meta_path_for(val_path), res.val);
        }
    } else {
        std::filesystem::remove(val_path, ec);
        std::filesystem::remove(meta_path_for(val_path), ec);
    }
    write_file_atomic(out_dir + "/tokenizer.json", tokenizer.json());
    return res;
}

}  // namespace

}  // namespace ttt
