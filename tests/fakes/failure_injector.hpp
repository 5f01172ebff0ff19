// Failure injection shared by every fake port: tests make the next calls of a method (or of any
// method) fail, or take the whole backend down, to exercise retry and 503 paths. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/result.hpp"

namespace intake::fakes {

class FailureInjector {
 public:
  // The next `n` calls of `method` (the port method's name, e.g. "Put", "ApplyBatch", or "Read"
  // for ObjectReader::Read; empty = any method) fail with `code`, after `skip` matching calls
  // that succeed (to fail in the middle of a run).
  void FailNext(int n, ErrorCode code = ErrorCode::kUnavailable, std::string method = "",
                int skip = 0);
  // While down, every call (Check() included) fails with `code`.
  void SetDown(bool down, ErrorCode code = ErrorCode::kUnavailable);
  // Forgets every pending FailNext() rule and brings the backend up.
  void ClearFailures();
  // How many times `method` was called (counted whether or not it failed).
  int Calls(std::string_view method) const;

  // For the fakes: counts the call and returns the error to inject, if any.
  std::optional<Error> Inject(std::string_view method);
  Status InjectStatus(std::string_view method);

 private:
  struct Rule {
    std::string method;
    int remaining = 0;
    int skip = 0;
    ErrorCode code = ErrorCode::kUnavailable;
  };
  mutable std::mutex mu_;
  std::vector<Rule> rules_;
  std::optional<ErrorCode> down_;
  std::map<std::string, int, std::less<>> calls_;
};

}  // namespace intake::fakes
