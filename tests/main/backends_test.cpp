#include "main/backends.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace intake::main_ {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("intake_main_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

Config ConfigFor(const EnvMap& env) {
  auto config = LoadConfig(env, "", {}, 2);
  EXPECT_TRUE(config.has_value());
  return config ? *config : Config{};
}

std::string CreateError(const EnvMap& env) {
  auto factory = BackendFactory::Create(ConfigFor(env));
  EXPECT_FALSE(factory.has_value());
  return factory ? "" : factory.error().message;
}

TEST(BackendFactory, EmbeddedDefaultsAreBuiltIn) {
  auto factory = BackendFactory::Create(ConfigFor({}));
  ASSERT_TRUE(factory.has_value());
  EXPECT_TRUE(factory->QueueInDatabase());
  EXPECT_EQ(factory->Describe(),
            "database sqlite:///./data/intake.db, object store file "
            "./data/objects/patient-intake, queue database table");
}

TEST(BackendFactory, RefusesBackendsNotBuiltIn) {
  EXPECT_EQ(CreateError({{"DATABASE_URL", "postgresql://u:pw@db:5432/intake"}}),
            "DATABASE_URL: postgresql backend is not available in this build");
  EXPECT_EQ(CreateError({{"DATABASE_URL", "postgres://db/intake"}}),
            "DATABASE_URL: postgresql backend is not available in this build");
  EXPECT_EQ(CreateError({{"BROKER_URL", "redis://:pw@cache:6379/0"}}),
            "BROKER_URL: redis backend is not available in this build");
  EXPECT_EQ(CreateError({{"CELERY_BROKER_URL", "redis://cache:6379/0"}}),
            "BROKER_URL: redis backend is not available in this build");
  EXPECT_EQ(CreateError({{"S3_ENDPOINT_URL", "http://localhost:4566"}}),
            "S3_ENDPOINT_URL: s3 backend is not available in this build");
  EXPECT_EQ(CreateError({{"OBJECT_STORE", "s3"}}),
            "OBJECT_STORE: s3 backend is not available in this build");
}

TEST(BackendFactory, DescribeMasksPasswords) {
  Config config = ConfigFor({});
  config.database_url = "sqlite:///x.db";
  auto factory = BackendFactory::Create(config);
  ASSERT_TRUE(factory.has_value());
  EXPECT_EQ(factory->Describe().find("pw"), std::string::npos);
}

TEST(BackendFactory, OpensAndMigratesTheSqliteDatabaseCreatingItsFolder) {
  TempDir dir;
  const fs::path data = dir.path() / "nested" / "data";
  auto factory = BackendFactory::Create(ConfigFor({{"DATA_DIR", data.string()}}));
  ASSERT_TRUE(factory.has_value());
  auto db = factory->OpenDatabase();
  ASSERT_TRUE(db.has_value()) << db.error().message;
  EXPECT_GE((*db)->schema_version, 1);
  EXPECT_NE((*db)->records, nullptr);
  EXPECT_NE((*db)->tasks, nullptr);
  EXPECT_NE((*db)->idempotency, nullptr);
  EXPECT_NE((*db)->queue, nullptr);
  EXPECT_TRUE(fs::exists(data / "intake.db"));
  EXPECT_TRUE((*db)->records->Check().has_value());
}

TEST(BackendFactory, OpensTheFileObjectStoreAndEnsuresTheBucket) {
  TempDir dir;
  auto factory = BackendFactory::Create(
      ConfigFor({{"DATA_DIR", dir.path().string()}, {"S3_BUCKET_NAME", "my-bucket"}}));
  ASSERT_TRUE(factory.has_value());
  auto store = factory->OpenObjectStore();
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_TRUE(fs::is_directory(dir.path() / "objects" / "my-bucket"));
  EXPECT_TRUE((*store)->Check().has_value());
}

TEST(BackendFactory, AnUnwritablePathIsUnavailableNotFatal) {
  TempDir dir;
  const fs::path blocker = dir.path() / "a-file";
  std::ofstream(blocker) << "x";
  auto factory = BackendFactory::Create(ConfigFor({{"DATA_DIR", (blocker / "data").string()}}));
  ASSERT_TRUE(factory.has_value());
  auto db = factory->OpenDatabase();
  ASSERT_FALSE(db.has_value());
  EXPECT_EQ(db.error().code, ErrorCode::kUnavailable);
  auto store = factory->OpenObjectStore();
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace intake::main_
