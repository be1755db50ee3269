// config.json ⇄ ModelConfig. Accepts upstream's field names and aliases (upstream-spec §1.1) and our extra fields.
#pragma once

#include <string>
#include <string_view>

#include <simdjson.h>

#include "model/config.h"

namespace ttt {

// Parse a config from JSON text or an already parsed object. Missing required fields, wrong types and impossible
// values throw Error(TTT_ERR_FORMAT) naming the field; arch "llama" throws TTT_ERR_UNSUPPORTED.
ModelConfig parse_config_json(std::string_view text, const std::string& what);
ModelConfig parse_config_object(simdjson::dom::object obj, const std::string& what);

// Compact JSON with upstream's four fields first, then ours (so upstream readers still parse it).
std::string config_to_json(const ModelConfig& c);

}  // namespace ttt
