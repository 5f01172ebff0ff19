// Versioned schema migrations, embedded in the binary from migrations/<dialect>/NNN_what.sql by
// cmake/EmbedMigrations.cmake. Each is applied once, in version order, inside a transaction.
#pragma once

#include <string_view>
#include <vector>

namespace intake::migrations {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

extern const std::vector<Migration> kSqlite;
extern const std::vector<Migration> kPostgres;

}  // namespace intake::migrations
