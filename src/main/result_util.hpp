// ErrorIn(r): the error held by a Result.
//
// boost::system::result<T, E>::error() (Boost 1.81) requires a default-constructible E, which
// intake::Error is not (yet); this reads the error either way.
// TODO(main): drop once domain/result.hpp gives Error a default constructor.
#pragma once

#include <type_traits>

#include "domain/result.hpp"

namespace intake::main_ {

// REQUIRES: !r.
template <class T>
Error ErrorIn(const Result<T>& r) {
  if constexpr (std::is_default_constructible_v<Error>) {
    return r.error();
  } else {
    try {
      r.value();
    } catch (const ErrorException& e) {
      return Error(e.code(), e.what());
    }
    return Internal("ErrorIn called on a value");
  }
}

}  // namespace intake::main_
