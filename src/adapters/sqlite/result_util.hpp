// ErrorOf(r): the Error held by a failed Result.
//
// boost::system::result<T, E>::error() (Boost 1.81) requires a default-constructible E, which
// intake::Error is not, so the error is read through value()'s exception. Only error paths pay.
#pragma once

#include <type_traits>

#include "domain/result.hpp"

namespace intake::adapters::sqlite {

// REQUIRES: !r.
template <class T>
Error ErrorOf(const Result<T>& r) {
  if constexpr (std::is_default_constructible_v<Error>) {
    return r.error();
  } else {
    try {
      r.value();
    } catch (const ErrorException& e) {
      return Error(e.code(), e.what());
    }
    return Internal("ErrorOf called on a value");
  }
}

}  // namespace intake::adapters::sqlite
