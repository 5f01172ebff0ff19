// Result<T>: the value-or-error type every port and use case returns.
//
// Expected failures are values, not exceptions. An Error carries one of a short list of codes
// and a message that is safe for logs and clients: it never contains PHI (no MRN, names, dates
// of birth or reasons) and never a driver's raw text meant only for operators.
#pragma once

#include <boost/system/result.hpp>
#include <stdexcept>
#include <string>
#include <utility>

namespace intake {

enum class ErrorCode {
  kInvalidArgument,  // the caller sent something wrong; retrying the same input fails again
  kNotFound,         // the thing named does not exist
  kConflict,         // a uniqueness or state rule forbids it (e.g. task not finished)
  kUnavailable,      // a backend did not answer; worth a retry with backoff
  kInternal,         // a bug or corrupted state
};

struct Error {
  Error() = default;  // boost::system::result::error() needs it
  Error(ErrorCode c, std::string m) : code(c), message(std::move(m)) {}
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <class T>
using Result = boost::system::result<T, Error>;
using Status = Result<void>;

inline Error InvalidArgument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Error NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Error Conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
inline Error Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
inline Error Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

// Thrown by Result::value() on an error; only for code paths where an error is a bug.
class ErrorException : public std::runtime_error {
 public:
  explicit ErrorException(const Error& e) : std::runtime_error(e.message), code_(e.code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

[[noreturn]] inline void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw ErrorException(e);
}

}  // namespace intake
