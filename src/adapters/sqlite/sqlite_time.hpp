// Timestamps in the SQLite tables: integer microseconds since the epoch (UTC)
// (adapters/epoch_micros.hpp).
#pragma once

#include "adapters/epoch_micros.hpp"

namespace intake::adapters::sqlite {

using adapters::FromMicros;
using adapters::ToMicros;

}  // namespace intake::adapters::sqlite
