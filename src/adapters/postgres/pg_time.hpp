// Timestamps in the PostgreSQL task tables: BIGINT microseconds since the epoch (UTC), as in the
// SQLite schema (adapters/epoch_micros.hpp).
#pragma once

#include "adapters/epoch_micros.hpp"

namespace intake::adapters::postgres {

using adapters::FromMicros;
using adapters::ToMicros;

}  // namespace intake::adapters::postgres
