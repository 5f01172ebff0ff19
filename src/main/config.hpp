// Configuration (SPEC §2): one struct with defaults, filled and validated once at start-up and then
// passed down by the composition root.
//
// Sources, strongest first: command-line flags > the real environment > a `.env` file in the
// working directory. An empty value counts as unset. A malformed value is a start-up error whose
// one-line message names the variable (or the flag) and never contains the value, since several
// variables carry secrets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "domain/result.hpp"

namespace intake::main_ {

using EnvMap = std::map<std::string, std::string, std::less<>>;

enum class LogLevel { kTrace, kDebug, kInfo, kWarning, kError, kCritical, kOff };
enum class LogFormat { kText, kJson };
enum class ObjectStoreKind { kFile, kS3 };

struct Config {
  // Listen address (HOST / PORT).
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;
  // Embedded database and object folder (DATA_DIR). Default "./data".
  std::string data_dir = "./data";
  // DATABASE_URL: `sqlite:///path` (relative path; `sqlite:////abs/path` for an absolute one) or
  // `postgresql://user:pass@host:port/db`. Default `sqlite:///$DATA_DIR/intake.db`. Secret.
  std::string database_url = "sqlite:///./data/intake.db";
  // S3_ENDPOINT_URL: set → the S3 object store at that endpoint. Default unset.
  std::optional<std::string> s3_endpoint_url;
  // OBJECT_STORE: `file` (default) or `s3` (default when S3_ENDPOINT_URL is set).
  ObjectStoreKind object_store = ObjectStoreKind::kFile;
  // S3_BUCKET_NAME: the bucket (a folder under $DATA_DIR/objects/ for the file store); created at
  // start-up when missing. Default "patient-intake".
  std::string s3_bucket_name = "patient-intake";
  // AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (secrets, default unset) and AWS_REGION
  // (default "us-east-1").
  std::optional<std::string> aws_access_key_id;
  std::optional<std::string> aws_secret_access_key;
  std::string aws_region = "us-east-1";
  // BROKER_URL (alias CELERY_BROKER_URL): unset → the task queue lives in the database;
  // `redis://host:port/db` → Redis Streams. Secret (may hold a password).
  std::optional<std::string> broker_url;
  // WORKER_CONCURRENCY: worker threads per process. Default: the number of cores.
  int worker_concurrency = 1;
  // MAX_RECORDS_PER_REQUEST (50000), MAX_BODY_BYTES (64 MiB), MAX_UPLOAD_BYTES (1 GiB): → 413.
  std::size_t max_records_per_request = 50000;
  std::size_t max_body_bytes = 67108864;
  std::size_t max_upload_bytes = 1073741824;
  // LOG_LEVEL (info), LOG_FORMAT (text | json), LOG_PHI (false: no PHI ever reaches a log line).
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
  bool log_phi = false;
  // TASK_LEASE_SECONDS: how long a claimed task stays leased to a silent worker. Default 30.
  int task_lease_seconds = 30;
  // BATCH_ROWS: rows per worker transaction. Default 20000.
  std::size_t batch_rows = 50000;
};

// Which database DATABASE_URL names.
enum class DatabaseKind { kSqlite, kPostgres };
struct DatabaseTarget {
  DatabaseKind kind = DatabaseKind::kSqlite;
  std::string sqlite_path;  // kSqlite only: the file path (or ":memory:")
};
// kInvalidArgument ("DATABASE_URL: …", value-free) for an unknown scheme or a malformed URL.
Result<DatabaseTarget> ParseDatabaseUrl(std::string_view url);

// Which task queue BROKER_URL names.
enum class QueueKind { kDatabase, kRedis };
// kInvalidArgument ("BROKER_URL: …") for an unknown scheme or a malformed URL.
Result<QueueKind> ParseBrokerUrl(const std::optional<std::string>& url);

// Command-line overrides, keyed by the environment variable they replace; the value of
// kFlagNames (below) names the flag in error messages.
using FlagOverrides = EnvMap;
inline constexpr std::pair<std::string_view, std::string_view> kFlagNames[] = {
    {"HOST", "--host"},
    {"PORT", "--port"},
    {"DATA_DIR", "--data-dir"},
    {"DATABASE_URL", "--database-url"},
    {"BROKER_URL", "--broker-url"},
    {"WORKER_CONCURRENCY", "--workers"},
    {"LOG_LEVEL", "--log-level"},
};

// Pure: merges `dotenv_text` (contents of .env, may be empty) < `env` < `flags` and validates.
// `cores` is the default WORKER_CONCURRENCY (0 is treated as 1).
// kInvalidArgument with a one-line, value-free message naming the variable or flag.
Result<Config> LoadConfig(const EnvMap& env, std::string_view dotenv_text,
                          const FlagOverrides& flags, unsigned cores);

// The same, reading the process environment, ./.env (when present) and the hardware core count.
Result<Config> LoadConfigFromProcess(const FlagOverrides& flags);

// `url` with any password replaced by "***", for log lines.
std::string MaskUrl(std::string_view url);

std::string_view LogLevelName(LogLevel level);

}  // namespace intake::main_
