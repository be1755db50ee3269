// GPT-2 bytes_to_unicode: printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves, the other 68
// bytes to U+0100 + n in byte order.
#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/unicode.h"

namespace ttt::byte_level {
namespace {

struct Tables {
    std::array<std::string, 256> chars;  // byte -> UTF-8 of its character
    std::array<int16_t, 0x200> bytes;    // code point (< 0x200) -> byte, -1 if none
    Tables() {
        bytes.fill(-1);
        uint32_t next = 0x100;
        for (uint32_t b = 0; b < 256; ++b) {
            bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            uint32_t cp = printable ? b : next++;
            unicode::append_utf8(chars[b], cp);
            bytes[cp] = static_cast<int16_t>(b);
        }
    }
};

const Tables& tables() {
    static const Tables t;
    return t;
}

}  // namespace

const std::string& char_of_byte(uint8_t b) { return tables().chars[b]; }

int byte_of_char(uint32_t cp) { return cp < 0x200 ? tables().bytes[cp] : -1; }

void encode_append(std::string_view bytes, std::string& out) {
    const Tables& t = tables();
    for (unsigned char b : bytes) out += t.chars[b];
}

bool decode_append(std::string_view token, std::string& out) {
    const size_t mark = out.size();
    for (size_t i = 0; i < token.size();) {
        unicode::Decoded d = unicode::decode(token.data(), token.size(), i);
        int b = byte_of_char(d.cp);
        if (b < 0) {
            out.resize(mark);
            return false;
        }
        out.push_back(static_cast<char>(b));
        i += d.len;
    }
    return true;
}

}  // namespace ttt::byte_level
