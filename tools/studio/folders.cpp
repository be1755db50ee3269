#include "folders.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <dirent.h>
#include <sys/stat.h>

#include "http_error.h"

namespace studio {

namespace {

bool canonical(const std::string& path, std::string* out) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) return false;
    *out = buf;
    return true;
}

void check_text(const std::string& path) {
    if (path.empty()) throw bad_request("a path is required");
    if (path.size() > 4096) throw bad_request("the path is longer than 4096 bytes");
    if (path.find('\0') != std::string::npos) throw bad_request("the path contains a NUL byte");
}

}  // namespace

void Folders::add_root(const std::string& path) {
    std::string c;
    struct stat st {};
    if (!canonical(path, &c) || ::stat(c.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw std::runtime_error("--root " + path + ": not an existing folder");
    if (std::find(roots_.begin(), roots_.end(), c) == roots_.end()) roots_.push_back(c);
}

bool Folders::inside_root(const std::string& c) const {
    for (const std::string& r : roots_) {
        if (c == r) return true;
        const std::string prefix = r == "/" ? r : r + "/";
        if (c.compare(0, prefix.size(), prefix) == 0) return true;
    }
    return false;
}

std::string Folders::absolute(const std::string& path) const {
    check_text(path);
    if (path[0] == '/') return path;
    if (roots_.empty()) throw forbidden("no folder is open (start the studio with --root DIR)");
    return roots_.front() + "/" + path;
}

std::string Folders::existing(const std::string& path) const {
    const std::string abs = absolute(path);
    std::string c;
    if (!canonical(abs, &c)) throw not_found(path + ": " + std::strerror(errno));
    if (!inside_root(c)) throw forbidden(path + ": outside the folders the studio may use");
    return c;
}

std::string Folders::writable(const std::string& path) const {
    const std::string abs = absolute(path);
    const size_t slash = abs.find_last_of('/');
    const std::string dir = abs.substr(0, slash == 0 ? 1 : slash), name = abs.substr(slash + 1);
    if (name.empty() || name == "." || name == "..") throw bad_request(path + ": not a file name");
    std::string cdir;
    if (!canonical(dir, &cdir)) throw not_found(path + ": the folder does not exist");
    if (!inside_root(cdir)) throw forbidden(path + ": outside the folders the studio may use");
    const std::string full = (cdir == "/" ? "" : cdir) + "/" + name;
    struct stat st {};
    if (::lstat(full.c_str(), &st) == 0) {
        if (S_ISLNK(st.st_mode)) throw forbidden(path + ": is a symbolic link; the studio does not write through links");
        if (S_ISDIR(st.st_mode)) throw bad_request(path + ": is a folder");
    }
    return full;
}

std::string Folders::make_folder(const std::string& path) const {
    struct stat st {};
    const std::string abs = absolute(path);
    if (::stat(abs.c_str(), &st) == 0) {
        std::string c = existing(path);
        if (!S_ISDIR(st.st_mode)) throw bad_request(path + ": is not a folder");
        return c;
    }
    const std::string full = writable(path);
    if (::mkdir(full.c_str(), 0755) != 0 && errno != EEXIST)
        throw HttpError(500, "io", path + ": cannot create the folder: " + std::strerror(errno));
    return existing(full);
}

std::vector<DirEntry> Folders::list(const std::string& dir) const {
    std::vector<DirEntry> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) throw not_found(display(dir) + ": " + std::strerror(errno));
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        struct stat st {};
        const std::string full = dir + "/" + e->d_name;
        if (::stat(full.c_str(), &st) != 0) continue;
        std::string c;
        if (!canonical(full, &c) || !inside_root(c)) continue;  // a symlink out of the roots is not shown
        out.push_back({e->d_name, S_ISDIR(st.st_mode), static_cast<unsigned long long>(st.st_size)});
    }
    ::closedir(d);
    std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) {
        return a.is_dir != b.is_dir ? a.is_dir : a.name < b.name;
    });
    return out;
}

std::string Folders::display(const std::string& c) const {
    if (!roots_.empty()) {
        const std::string& r = roots_.front();
        if (c == r) return ".";
        if (c.compare(0, r.size() + 1, r + "/") == 0) return c.substr(r.size() + 1);
    }
    return c;
}

}  // namespace studio
