// The folders the studio may read and write: the --root folders, nothing else. Every path from the page goes
// through here. A relative path is taken inside the first root. Paths are canonicalised (realpath), so ".." and
// symlinks that lead out of every root are refused; a file to be written must not be a symlink, and its folder
// must exist inside a root.
#pragma once

#include <string>
#include <vector>

namespace studio {

struct DirEntry {
    std::string name;
    bool is_dir = false;
    unsigned long long size = 0;
};

class Folders {
public:
    // Throws std::runtime_error when a root does not exist or is not a folder.
    void add_root(const std::string& path);
    const std::vector<std::string>& roots() const { return roots_; }

    // An existing file or folder inside a root (canonical). Throws HttpError 403/404.
    std::string existing(const std::string& path) const;
    // A file to create or replace inside a root (canonical folder + plain name). Throws HttpError 400/403/404.
    std::string writable(const std::string& path) const;
    // A folder to create (if missing) inside a root; its parent must exist inside a root.
    std::string make_folder(const std::string& path) const;
    // The entries of a folder inside a root, folders first, then by name. Hidden entries are left out.
    std::vector<DirEntry> list(const std::string& canonical_dir) const;
    // The path as the page shows it: relative to the root that holds it when that is the first root.
    std::string display(const std::string& canonical) const;

private:
    bool inside_root(const std::string& canonical) const;
    std::string absolute(const std::string& path) const;
    std::vector<std::string> roots_;
};

}  // namespace studio
