#include "main/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <thread>

#include "main/dotenv.hpp"

extern char** environ;  // POSIX

namespace intake::main_ {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Merged sources plus, per key, the name to use in messages (the flag when a flag supplied it).
class Source {
 public:
  Source(EnvMap values, const FlagOverrides& flags) : values_(std::move(values)) {
    for (const auto& [key, value] : flags) {
      if (value.empty()) continue;
      values_.insert_or_assign(key, value);
      from_flag_.insert_or_assign(key, FlagName(key));
    }
  }

  // Empty values count as unset.
  std::optional<std::string> Get(std::string_view key) const {
    const auto it = values_.find(key);
    if (it == values_.end() || it->second.empty()) return std::nullopt;
    return it->second;
  }

  Error Bad(std::string_view key, std::string_view expectation) const {
    const auto it = from_flag_.find(key);
    const std::string name = it != from_flag_.end() ? it->second : std::string(key);
    return InvalidArgument(name + ": " + std::string(expectation));
  }

 private:
  static std::string FlagName(std::string_view key) {
    for (const auto& [var, flag] : kFlagNames) {
      if (var == key) return std::string(flag);
    }
    return std::string(key);
  }

  EnvMap values_;
  EnvMap from_flag_;
};

// Parses a base-10 integer in [lo, hi]; nullopt on anything else (signs, spaces, overflow).
std::optional<std::int64_t> ParseInt(std::string_view text, std::int64_t lo, std::int64_t hi) {
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size() || v < lo || v > hi) {
    return std::nullopt;
  }
  return v;
}

template <class T>
Status ReadInt(const Source& src, std::string_view key, std::int64_t lo, std::int64_t hi, T& out) {
  const auto raw = src.Get(key);
  if (!raw) return {};
  const auto v = ParseInt(*raw, lo, hi);
  if (!v) {
    return src.Bad(key, "expected an integer " + std::to_string(lo) + "-" + std::to_string(hi));
  }
  out = static_cast<T>(*v);
  return {};
}

Status ReadLogLevel(const Source& src, LogLevel& out) {
  const auto raw = src.Get("LOG_LEVEL");
  if (!raw) return {};
  static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {
      {"trace", LogLevel::kTrace},       {"debug", LogLevel::kDebug},  {"info", LogLevel::kInfo},
      {"warning", LogLevel::kWarning},   {"warn", LogLevel::kWarning}, {"error", LogLevel::kError},
      {"critical", LogLevel::kCritical}, {"off", LogLevel::kOff},
  };
  const std::string v = Lower(*raw);
  for (const auto& [name, level] : kLevels) {
    if (v == name) {
      out = level;
      return {};
    }
  }
  return src.Bad("LOG_LEVEL", "expected one of trace, debug, info, warning, error, critical, off");
}

Status ReadLogFormat(const Source& src, LogFormat& out) {
  const auto raw = src.Get("LOG_FORMAT");
  if (!raw) return {};
  const std::string v = Lower(*raw);
  if (v == "text") {
    out = LogFormat::kText;
  } else if (v == "json") {
    out = LogFormat::kJson;
  } else {
    return src.Bad("LOG_FORMAT", "expected text or json");
  }
  return {};
}

Status ReadBool(const Source& src, std::string_view key, bool& out) {
  const auto raw = src.Get(key);
  if (!raw) return {};
  const std::string v = Lower(*raw);
  if (v == "true" || v == "1" || v == "yes" || v == "on") {
    out = true;
  } else if (v == "false" || v == "0" || v == "no" || v == "off") {
    out = false;
  } else {
    return src.Bad(key, "expected true or false");
  }
  return {};
}

// Bucket names follow S3's rules, which also keeps the file store's folder name safe.
bool IsValidBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  if (!std::isalnum(static_cast<unsigned char>(b.front())) ||
      !std::isalnum(static_cast<unsigned char>(b.back()))) {
    return false;
  }
  if (b.find("..") != std::string_view::npos) return false;
  return std::all_of(b.begin(), b.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

Status ReadObjectStore(const Source& src, Config& c) {
  if (const auto endpoint = src.Get("S3_ENDPOINT_URL")) {
    const auto url = boost::urls::parse_absolute_uri(*endpoint);
    const std::string scheme = url ? Lower(url->scheme()) : "";
    if (!url || (scheme != "http" && scheme != "https") || !url->has_authority() ||
        url->host().empty()) {
      return src.Bad("S3_ENDPOINT_URL", "expected an http:// or https:// URL");
    }
    c.s3_endpoint_url = *endpoint;
    c.object_store = ObjectStoreKind::kS3;
  }
  if (const auto kind = src.Get("OBJECT_STORE")) {
    const std::string v = Lower(*kind);
    if (v == "file") {
      c.object_store = ObjectStoreKind::kFile;
    } else if (v == "s3") {
      c.object_store = ObjectStoreKind::kS3;
    } else {
      return src.Bad("OBJECT_STORE", "expected file or s3");
    }
  }
  if (const auto bucket = src.Get("S3_BUCKET_NAME")) {
    if (!IsValidBucket(*bucket)) {
      return src.Bad("S3_BUCKET_NAME",
                     "expected 3-63 lower-case letters, digits, '.' or '-' (an S3 bucket name)");
    }
    c.s3_bucket_name = *bucket;
  }
  c.aws_access_key_id = src.Get("AWS_ACCESS_KEY_ID");
  c.aws_secret_access_key = src.Get("AWS_SECRET_ACCESS_KEY");
  if (const auto region = src.Get("AWS_REGION")) c.aws_region = *region;
  // SigV4 needs a key pair; without one every request would be refused, so say so at start-up.
  if (c.object_store == ObjectStoreKind::kS3) {
    if (!c.aws_access_key_id || c.aws_access_key_id->empty()) {
      return src.Bad("AWS_ACCESS_KEY_ID", "required when the object store is s3");
    }
    if (!c.aws_secret_access_key || c.aws_secret_access_key->empty()) {
      return src.Bad("AWS_SECRET_ACCESS_KEY", "required when the object store is s3");
    }
  }
  return {};
}

Status ReadUrls(const Source& src, Config& c) {
  if (const auto url = src.Get("DATABASE_URL")) {
    c.database_url = *url;
  } else {
    c.database_url = "sqlite:///" + c.data_dir + "/intake.db";
  }
  if (auto db = ParseDatabaseUrl(c.database_url); !db) {
    return src.Bad("DATABASE_URL", db.error().message.substr(db.error().message.find(": ") + 2));
  }
  c.broker_url = src.Get("BROKER_URL");
  if (!c.broker_url) c.broker_url = src.Get("CELERY_BROKER_URL");
  if (auto q = ParseBrokerUrl(c.broker_url); !q) {
    const std::string key = src.Get("BROKER_URL") ? "BROKER_URL" : "CELERY_BROKER_URL";
    return src.Bad(key, q.error().message.substr(q.error().message.find(": ") + 2));
  }
  return {};
}

Status ReadLimits(const Source& src, Config& c) {
  constexpr std::int64_t kMaxBytes = std::int64_t{1} << 50;
  if (auto s = ReadInt(src, "MAX_RECORDS_PER_REQUEST", 1, 100000000, c.max_records_per_request);
      !s) {
    return s;
  }
  if (auto s = ReadInt(src, "MAX_BODY_BYTES", 1, kMaxBytes, c.max_body_bytes); !s) return s;
  if (auto s = ReadInt(src, "MAX_UPLOAD_BYTES", 1, kMaxBytes, c.max_upload_bytes); !s) return s;
  if (auto s = ReadInt(src, "TASK_LEASE_SECONDS", 1, 86400, c.task_lease_seconds); !s) return s;
  return ReadInt(src, "BATCH_ROWS", 1, 1000000, c.batch_rows);
}

Status Fill(const Source& src, Config& c) {
  if (const auto host = src.Get("HOST")) c.host = *host;
  if (auto s = ReadInt(src, "PORT", 1, 65535, c.port); !s) return s;
  if (const auto dir = src.Get("DATA_DIR")) c.data_dir = *dir;
  if (auto s = ReadUrls(src, c); !s) return s;
  if (auto s = ReadObjectStore(src, c); !s) return s;
  if (auto s = ReadInt(src, "WORKER_CONCURRENCY", 1, 1024, c.worker_concurrency); !s) return s;
  if (auto s = ReadLimits(src, c); !s) return s;
  if (auto s = ReadLogLevel(src, c.log_level); !s) return s;
  if (auto s = ReadLogFormat(src, c.log_format); !s) return s;
  return ReadBool(src, "LOG_PHI", c.log_phi);
}

bool IsValidHostPort(const boost::urls::url_view& u) {
  return u.has_authority() && !u.host().empty() && (!u.has_port() || u.port_number() != 0);
}

}  // namespace

Result<DatabaseTarget> ParseDatabaseUrl(std::string_view url) {
  constexpr std::string_view kSqlite = "sqlite:///";
  if (Lower(url.substr(0, kSqlite.size())) == kSqlite) {
    std::string path(url.substr(kSqlite.size()));
    if (const auto q = path.find('?'); q != std::string::npos) path.resize(q);
    if (path.empty()) return InvalidArgument("DATABASE_URL: expected sqlite:///path/to/file.db");
    return DatabaseTarget{DatabaseKind::kSqlite, std::move(path)};
  }
  const auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed)
    return InvalidArgument("DATABASE_URL: not a URL (expected sqlite:/// or postgresql://)");
  const std::string scheme = Lower(parsed->scheme());
  if (scheme == "sqlite")
    return InvalidArgument("DATABASE_URL: expected sqlite:///path/to/file.db");
  if (scheme == "postgresql" || scheme == "postgres") {
    if (!IsValidHostPort(*parsed)) {
      return InvalidArgument("DATABASE_URL: expected postgresql://user:pass@host:port/db");
    }
    return DatabaseTarget{DatabaseKind::kPostgres, {}};
  }
  return InvalidArgument("DATABASE_URL: unsupported scheme '" + scheme +
                         "' (expected sqlite:/// or postgresql://)");
}

Result<QueueKind> ParseBrokerUrl(const std::optional<std::string>& url) {
  if (!url) return QueueKind::kDatabase;
  const auto parsed = boost::urls::parse_absolute_uri(*url);
  if (!parsed) return InvalidArgument("BROKER_URL: not a URL (expected redis://host:port/db)");
  const std::string scheme = Lower(parsed->scheme());
  if (scheme == "rediss") {
    return InvalidArgument(
        "BROKER_URL: rediss:// (TLS) is not supported; use redis://host:port/db");
  }
  if (scheme != "redis") {
    return InvalidArgument("BROKER_URL: unsupported scheme '" + scheme +
                           "' (expected redis://host:port/db)");
  }
  if (!IsValidHostPort(*parsed)) {
    return InvalidArgument("BROKER_URL: expected redis://host:port/db");
  }
  return QueueKind::kRedis;
}

Result<Config> LoadConfig(const EnvMap& env, std::string_view dotenv_text,
                          const FlagOverrides& flags, unsigned cores) {
  auto dotenv = ParseDotenv(dotenv_text);
  if (!dotenv) return dotenv.error();
  EnvMap merged = std::move(*dotenv);
  for (const auto& [key, value] : env) merged.insert_or_assign(key, value);
  // An alias set in a stronger source must not lose to the other name set in a weaker one.
  if (env.contains("CELERY_BROKER_URL") && !env.contains("BROKER_URL")) {
    merged.erase("BROKER_URL");
  }
  if (flags.contains("BROKER_URL")) merged.erase("CELERY_BROKER_URL");

  Config config;
  config.worker_concurrency = static_cast<int>(std::clamp(cores, 1u, 1024u));
  const Source src(std::move(merged), flags);
  if (auto s = Fill(src, config); !s) return s.error();
  return config;
}

Result<Config> LoadConfigFromProcess(const FlagOverrides& flags) {
  EnvMap env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  std::string dotenv;
  if (std::ifstream file(".env", std::ios::binary); file) {
    std::ostringstream text;
    text << file.rdbuf();
    dotenv = text.str();
  }
  return LoadConfig(env, dotenv, flags, std::thread::hardware_concurrency());
}

std::string MaskUrl(std::string_view url) {
  const auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    const auto colon = url.find("://");
    return colon == std::string_view::npos ? "(not a URL)"
                                           : std::string(url.substr(0, colon)) + "://...";
  }
  if (!parsed->has_password()) return std::string(url);
  boost::urls::url masked(*parsed);
  masked.set_password("***");
  return std::string(masked.buffer());
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
    case LogLevel::kCritical:
      return "critical";
    case LogLevel::kOff:
      return "off";
  }
  return "info";
}

}  // namespace intake::main_
