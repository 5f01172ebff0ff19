// Helpers for Result<T>.
#pragma once

#include "domain/result.hpp"

namespace intake::app {

// The error held by `r`. REQUIRES: !r.
// (Written when intake::Error had no default constructor and Result::error() did not compile;
// now a plain forwarder kept for readability at the call sites.)
template <class T>
Error ErrorOf(const Result<T>& r) {
  return r.error();
}

}  // namespace intake::app
