#include "fakes/failure_injector.hpp"

#include <algorithm>

namespace intake::fakes {

void FailureInjector::FailNext(int n, ErrorCode code, std::string method, int skip) {
  std::lock_guard lock(mu_);
  rules_.push_back(Rule{std::move(method), n, skip, code});
}

void FailureInjector::SetDown(bool down, ErrorCode code) {
  std::lock_guard lock(mu_);
  if (down) {
    down_ = code;
  } else {
    down_.reset();
  }
}

void FailureInjector::ClearFailures() {
  std::lock_guard lock(mu_);
  rules_.clear();
  down_.reset();
}

int FailureInjector::Calls(std::string_view method) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(method);
  return it == calls_.end() ? 0 : it->second;
}

std::optional<Error> FailureInjector::Inject(std::string_view method) {
  std::lock_guard lock(mu_);
  ++calls_[std::string(method)];
  if (down_) return Error(*down_, "injected outage");
  for (auto& rule : rules_) {
    if (rule.remaining > 0 && (rule.method.empty() || rule.method == method)) {
      if (rule.skip > 0) {
        --rule.skip;
        continue;
      }
      --rule.remaining;
      ErrorCode code = rule.code;
      std::erase_if(rules_, [](const Rule& r) { return r.remaining <= 0; });
      return Error(code, "injected failure: " + std::string(method));
    }
  }
  return std::nullopt;
}

Status FailureInjector::InjectStatus(std::string_view method) {
  if (auto error = Inject(method)) return *error;
  return {};
}

}  // namespace intake::fakes
