// GPT-2's reversible byte <-> printable-character mapping ("bytes_to_unicode"): byte-level BPE models see every
// byte as one visible character (space -> "Ġ" U+0120, newline -> "Ċ" U+010A), so no input is ever unknown.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ttt::byte_level {

// UTF-8 of the character standing for byte b (1 or 2 bytes long).
const std::string& char_of_byte(uint8_t b);
// The byte a character stands for, or -1 if the character is not in the 256-character alphabet.
int byte_of_char(uint32_t cp);

// Append the byte-level form of raw bytes (each byte -> its character).
void encode_append(std::string_view bytes, std::string& out);

// Map a token's characters back to bytes. Returns false (out unchanged) if some character is outside the
// alphabet: HF's ByteLevel decoder then keeps the token's own bytes.
bool decode_append(std::string_view token, std::string& out);

}  // namespace ttt::byte_level
