// The one error type of the studio's request handlers: an HTTP status, a short machine code and a message for
// the page. The server turns it into {"error": {"code": ..., "message": ...}}.
#pragma once

#include <stdexcept>
#include <string>

namespace studio {

class HttpError : public std::runtime_error {
public:
    HttpError(int status, std::string code, const std::string& message)
        : std::runtime_error(message), status_(status), code_(std::move(code)) {}
    int status() const { return status_; }
    const std::string& code() const { return code_; }

private:
    int status_;
    std::string code_;
};

inline HttpError bad_request(const std::string& m) { return HttpError(400, "bad_request", m); }
inline HttpError forbidden(const std::string& m) { return HttpError(403, "forbidden", m); }
inline HttpError not_found(const std::string& m) { return HttpError(404, "not_found", m); }
inline HttpError conflict(const std::string& m) { return HttpError(409, "busy", m); }

}  // namespace studio
