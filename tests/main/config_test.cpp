#include "main/config.hpp"

#include <gtest/gtest.h>

namespace intake::main_ {
namespace {

Config Load(const EnvMap& env, std::string_view dotenv = "", const FlagOverrides& flags = {}) {
  auto config = LoadConfig(env, dotenv, flags, 4);
  EXPECT_TRUE(config.has_value()) << (config ? "" : config.error().message);
  return config ? *config : Config{};
}

std::string LoadError(const EnvMap& env, std::string_view dotenv = "",
                      const FlagOverrides& flags = {}) {
  auto config = LoadConfig(env, dotenv, flags, 4);
  EXPECT_FALSE(config.has_value());
  return config ? "" : config.error().message;
}

TEST(Config, DefaultsMatchTheSpec) {
  const Config c = Load({});
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 8000);
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.database_url, "sqlite:///./data/intake.db");
  EXPECT_FALSE(c.s3_endpoint_url.has_value());
  EXPECT_EQ(c.object_store, ObjectStoreKind::kFile);
  EXPECT_EQ(c.s3_bucket_name, "patient-intake");
  EXPECT_EQ(c.aws_region, "us-east-1");
  EXPECT_FALSE(c.broker_url.has_value());
  EXPECT_EQ(c.worker_concurrency, 4);
  EXPECT_EQ(c.max_records_per_request, 50000u);
  EXPECT_EQ(c.max_body_bytes, 67108864u);
  EXPECT_EQ(c.max_upload_bytes, 1073741824u);
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_EQ(c.log_format, LogFormat::kText);
  EXPECT_FALSE(c.log_phi);
  EXPECT_EQ(c.task_lease_seconds, 30);
  EXPECT_EQ(c.batch_rows, 50000u);
}

TEST(Config, ZeroCoresMeansOneWorker) {
  auto c = LoadConfig({}, "", {}, 0);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->worker_concurrency, 1);
}

TEST(Config, DatabaseUrlDefaultFollowsDataDir) {
  EXPECT_EQ(Load({{"DATA_DIR", "/var/lib/intake"}}).database_url,
            "sqlite:////var/lib/intake/intake.db");
  EXPECT_EQ(Load({}, "", {{"DATA_DIR", "d"}}).database_url, "sqlite:///d/intake.db");
}

TEST(Config, EnvironmentBeatsDotenvAndFlagsBeatBoth) {
  const std::string dotenv =
      "PORT=1111\nHOST=dotenv-host\nLOG_LEVEL=debug\nDATA_DIR=/from-dotenv\n";
  const Config c = Load({{"PORT", "2222"}, {"HOST", "env-host"}}, dotenv, {{"PORT", "3333"}});
  EXPECT_EQ(c.port, 3333);
  EXPECT_EQ(c.host, "env-host");
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_EQ(c.data_dir, "/from-dotenv");
}

TEST(Config, EveryFlagOverrides) {
  const Config c = Load({}, "",
                        {{"HOST", "0.0.0.0"},
                         {"PORT", "9"},
                         {"DATA_DIR", "/d"},
                         {"DATABASE_URL", "sqlite:///x.db"},
                         {"BROKER_URL", "redis://r:6379/0"},
                         {"WORKER_CONCURRENCY", "3"},
                         {"LOG_LEVEL", "error"}});
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 9);
  EXPECT_EQ(c.data_dir, "/d");
  EXPECT_EQ(c.database_url, "sqlite:///x.db");
  EXPECT_EQ(c.broker_url, "redis://r:6379/0");
  EXPECT_EQ(c.worker_concurrency, 3);
  EXPECT_EQ(c.log_level, LogLevel::kError);
}

TEST(Config, EmptyValueCountsAsUnset) {
  const Config c = Load({{"PORT", ""}, {"S3_ENDPOINT_URL", ""}});
  EXPECT_EQ(c.port, 8000);
  EXPECT_EQ(c.object_store, ObjectStoreKind::kFile);
}

TEST(Config, CeleryBrokerUrlIsAnAlias) {
  EXPECT_EQ(Load({{"CELERY_BROKER_URL", "redis://a:1/0"}}).broker_url, "redis://a:1/0");
  EXPECT_EQ(
      Load({{"CELERY_BROKER_URL", "redis://a:1/0"}, {"BROKER_URL", "redis://b:1/0"}}).broker_url,
      "redis://b:1/0");
  // The real environment's alias wins over the other name in .env.
  EXPECT_EQ(
      Load({{"CELERY_BROKER_URL", "redis://env:1/0"}}, "BROKER_URL=redis://dotenv:1/0").broker_url,
      "redis://env:1/0");
}

const EnvMap kKeys = {{"AWS_ACCESS_KEY_ID", "test"}, {"AWS_SECRET_ACCESS_KEY", "test"}};

EnvMap WithKeys(EnvMap env) {
  env.insert(kKeys.begin(), kKeys.end());
  return env;
}

TEST(Config, S3EndpointSelectsS3UnlessObjectStoreSaysFile) {
  EXPECT_EQ(Load(WithKeys({{"S3_ENDPOINT_URL", "http://localhost:4566"}})).object_store,
            ObjectStoreKind::kS3);
  EXPECT_EQ(
      Load({{"S3_ENDPOINT_URL", "http://localhost:4566"}, {"OBJECT_STORE", "file"}}).object_store,
      ObjectStoreKind::kFile);
  EXPECT_EQ(Load(WithKeys({{"OBJECT_STORE", "S3"}})).object_store, ObjectStoreKind::kS3);
}

TEST(Config, ParsesLoggingValuesCaseInsensitively) {
  const Config c = Load({{"LOG_LEVEL", "WARNING"}, {"LOG_FORMAT", "JSON"}, {"LOG_PHI", "True"}});
  EXPECT_EQ(c.log_level, LogLevel::kWarning);
  EXPECT_EQ(c.log_format, LogFormat::kJson);
  EXPECT_TRUE(c.log_phi);
  EXPECT_FALSE(Load({{"LOG_PHI", "0"}}).log_phi);
}

TEST(Config, MalformedValuesNameTheVariable) {
  struct Case {
    EnvMap env;
    std::string message;
  };
  const Case cases[] = {
      {{{"PORT", "http"}}, "PORT: expected an integer 1-65535"},
      {{{"PORT", "0"}}, "PORT: expected an integer 1-65535"},
      {{{"PORT", "65536"}}, "PORT: expected an integer 1-65535"},
      {{{"PORT", " 80"}}, "PORT: expected an integer 1-65535"},
      {{{"PORT", "-1"}}, "PORT: expected an integer 1-65535"},
      {{{"WORKER_CONCURRENCY", "0"}}, "WORKER_CONCURRENCY: expected an integer 1-1024"},
      {{{"WORKER_CONCURRENCY", "two"}}, "WORKER_CONCURRENCY: expected an integer 1-1024"},
      {{{"MAX_RECORDS_PER_REQUEST", "0"}},
       "MAX_RECORDS_PER_REQUEST: expected an integer 1-100000000"},
      {{{"MAX_BODY_BYTES", "1e6"}}, "MAX_BODY_BYTES: expected an integer 1-1125899906842624"},
      {{{"MAX_UPLOAD_BYTES", "-5"}}, "MAX_UPLOAD_BYTES: expected an integer 1-1125899906842624"},
      {{{"TASK_LEASE_SECONDS", "0"}}, "TASK_LEASE_SECONDS: expected an integer 1-86400"},
      {{{"BATCH_ROWS", "x"}}, "BATCH_ROWS: expected an integer 1-1000000"},
      {{{"LOG_LEVEL", "verbose"}},
       "LOG_LEVEL: expected one of trace, debug, info, warning, error, critical, off"},
      {{{"LOG_FORMAT", "xml"}}, "LOG_FORMAT: expected text or json"},
      {{{"LOG_PHI", "maybe"}}, "LOG_PHI: expected true or false"},
      {{{"OBJECT_STORE", "gcs"}}, "OBJECT_STORE: expected file or s3"},
      {{{"S3_ENDPOINT_URL", "ftp://x"}}, "S3_ENDPOINT_URL: expected an http:// or https:// URL"},
      {{{"OBJECT_STORE", "s3"}}, "AWS_ACCESS_KEY_ID: required when the object store is s3"},
      {{{"S3_ENDPOINT_URL", "http://s3:9000"}, {"AWS_ACCESS_KEY_ID", "k"}},
       "AWS_SECRET_ACCESS_KEY: required when the object store is s3"},
      {{{"BROKER_URL", "rediss://cache:6380/0"}},
       "BROKER_URL: rediss:// (TLS) is not supported; use redis://host:port/db"},
      {{{"S3_BUCKET_NAME", "../etc"}},
       "S3_BUCKET_NAME: expected 3-63 lower-case letters, digits, '.' or '-' (an S3 bucket name)"},
      {{{"DATABASE_URL", "mysql://u:pw@h/db"}},
       "DATABASE_URL: unsupported scheme 'mysql' (expected sqlite:/// or postgresql://)"},
      {{{"DATABASE_URL", "sqlite://relative.db"}},
       "DATABASE_URL: expected sqlite:///path/to/file.db"},
      {{{"DATABASE_URL", "sqlite:///"}}, "DATABASE_URL: expected sqlite:///path/to/file.db"},
      {{{"DATABASE_URL", "not a url"}},
       "DATABASE_URL: not a URL (expected sqlite:/// or postgresql://)"},
      {{{"DATABASE_URL", "postgresql:///nohost"}},
       "DATABASE_URL: expected postgresql://user:pass@host:port/db"},
      {{{"BROKER_URL", "amqp://guest:pw@h//"}},
       "BROKER_URL: unsupported scheme 'amqp' (expected redis://host:port/db)"},
      {{{"CELERY_BROKER_URL", "amqp://guest:pw@h//"}},
       "CELERY_BROKER_URL: unsupported scheme 'amqp' (expected redis://host:port/db)"},
  };
  for (const auto& c : cases) {
    const std::string message = LoadError(c.env);
    EXPECT_EQ(message, c.message);
    EXPECT_EQ(message.find('\n'), std::string::npos);
    EXPECT_EQ(message.find("pw"), std::string::npos) << "leaks a secret: " << message;
  }
}

TEST(Config, FlagErrorsNameTheFlag) {
  EXPECT_EQ(LoadError({}, "", {{"PORT", "x"}}), "--port: expected an integer 1-65535");
  EXPECT_EQ(LoadError({}, "", {{"WORKER_CONCURRENCY", "0"}}),
            "--workers: expected an integer 1-1024");
  EXPECT_EQ(LoadError({}, "", {{"LOG_LEVEL", "loud"}}),
            "--log-level: expected one of trace, debug, info, warning, error, critical, off");
  EXPECT_EQ(LoadError({}, "", {{"DATABASE_URL", "oracle://x"}}),
            "--database-url: unsupported scheme 'oracle' (expected sqlite:/// or postgresql://)");
}

TEST(Config, MalformedDotenvValueNamesTheVariable) {
  EXPECT_EQ(LoadError({}, "PORT=abc\n"), "PORT: expected an integer 1-65535");
  EXPECT_EQ(LoadError({}, "# ok\nno equals here\n"), ".env line 2: expected KEY=VALUE");
}

TEST(Config, SecretsNeverAppearInErrors) {
  const std::string message =
      LoadError({{"AWS_SECRET_ACCESS_KEY", "hunter2"}, {"PORT", "hunter2"}});
  EXPECT_EQ(message, "PORT: expected an integer 1-65535");
}

TEST(DatabaseUrl, DispatchesOnScheme) {
  auto sqlite = ParseDatabaseUrl("sqlite:///data/intake.db");
  ASSERT_TRUE(sqlite.has_value());
  EXPECT_EQ(sqlite->kind, DatabaseKind::kSqlite);
  EXPECT_EQ(sqlite->sqlite_path, "data/intake.db");

  auto absolute = ParseDatabaseUrl("sqlite:////tmp/x.db?mode=rwc");
  ASSERT_TRUE(absolute.has_value());
  EXPECT_EQ(absolute->sqlite_path, "/tmp/x.db");

  auto memory = ParseDatabaseUrl("sqlite:///:memory:");
  ASSERT_TRUE(memory.has_value());
  EXPECT_EQ(memory->sqlite_path, ":memory:");

  for (const char* url :
       {"postgresql://u:p@localhost:5432/intake", "postgres://h/db", "POSTGRESQL://h:5432/db"}) {
    auto pg = ParseDatabaseUrl(url);
    ASSERT_TRUE(pg.has_value()) << url;
    EXPECT_EQ(pg->kind, DatabaseKind::kPostgres) << url;
  }
}

TEST(BrokerUrl, DispatchesOnScheme) {
  EXPECT_EQ(ParseBrokerUrl(std::nullopt).value(), QueueKind::kDatabase);
  EXPECT_EQ(ParseBrokerUrl("redis://localhost:6379/0").value(), QueueKind::kRedis);
  EXPECT_EQ(ParseBrokerUrl("redis://:pw@cache:6380/1").value(), QueueKind::kRedis);
  EXPECT_FALSE(ParseBrokerUrl("rediss://:pw@cache:6380/1").has_value());
  EXPECT_FALSE(ParseBrokerUrl("redis://").has_value());
  EXPECT_FALSE(ParseBrokerUrl("kafka://x:1").has_value());
}

TEST(MaskUrl, HidesPasswordsOnly) {
  EXPECT_EQ(MaskUrl("postgresql://user:secret@db:5432/intake"),
            "postgresql://user:***@db:5432/intake");
  EXPECT_EQ(MaskUrl("redis://:secret@cache:6379/0"), "redis://:***@cache:6379/0");
  EXPECT_EQ(MaskUrl("sqlite:///./data/intake.db"), "sqlite:///./data/intake.db");
  EXPECT_EQ(MaskUrl("redis://cache:6379/0"), "redis://cache:6379/0");
  EXPECT_EQ(MaskUrl("bad url with secret").find("secret"), std::string::npos);
}

}  // namespace
}  // namespace intake::main_
