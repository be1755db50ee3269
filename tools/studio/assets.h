// The page's files, embedded into the program at build time by embed_assets.cmake (from tools/studio/web/).
#pragma once

#include <cstddef>
#include <cstring>

namespace studio {

struct Asset {
    const char* path;  // "/index.html"
    const char* mime;
    const unsigned char* data;
    size_t size;
};

// Ends with an entry whose path is nullptr.
extern const Asset kAssets[];

inline const Asset* find_asset(const char* path) {
    for (const Asset* a = kAssets; a->path; ++a)
        if (std::strcmp(a->path, path) == 0) return a;
    return nullptr;
}

}  // namespace studio
