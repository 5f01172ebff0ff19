#include "main/backends.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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

TEST(BackendFactory, EmbeddedDefaultsAreBuiltIn) {
  auto factory = BackendFactory::Create(ConfigFor({}));
  ASSERT_TRUE(factory.has_value());
  EXPECT_TRUE(factory->QueueInDatabase());
  EXPECT_EQ(factory->Describe(),
            "database sqlite:///./data/intake.db, object store file "
            "./data/objects/patient-intake, queue database table");
}

// A port on 127.0.0.1 that nothing listens on (bound, then closed).
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(BackendFactory, ProductionBackendsFollowTheUrls) {
  auto factory = BackendFactory::Create(ConfigFor({{"DATABASE_URL", "postgresql://u:pw@db:5432/x"},
                                                   {"BROKER_URL", "redis://:pw@cache:6379/0"},
                                                   {"S3_ENDPOINT_URL", "http://s3:9000"},
                                                   {"AWS_ACCESS_KEY_ID", "k"},
                                                   {"AWS_SECRET_ACCESS_KEY", "s"}}));
  ASSERT_TRUE(factory.has_value()) << factory.error().message;
  EXPECT_FALSE(factory->QueueInDatabase());
  EXPECT_EQ(factory->Describe(),
            "database postgresql://u:***@db:5432/x, object store s3 http://s3:9000 bucket "
            "patient-intake, queue redis redis://:***@cache:6379/0");
  auto celery = BackendFactory::Create(ConfigFor({{"CELERY_BROKER_URL", "redis://cache:6379/0"}}));
  ASSERT_TRUE(celery.has_value());
  EXPECT_FALSE(celery->QueueInDatabase());
}

// SPEC §2: a well-formed but unreachable backend is kUnavailable (retried), never a start-up error.
TEST(BackendFactory, UnreachableProductionBackendsAreUnavailable) {
  const std::string port = std::to_string(ClosedPort());
  auto factory = BackendFactory::Create(
      ConfigFor({{"DATABASE_URL", "postgresql://u:secret-pw@127.0.0.1:" + port + "/x"},
                 {"BROKER_URL", "redis://:secret-pw@127.0.0.1:" + port + "/0"},
                 {"S3_ENDPOINT_URL", "http://127.0.0.1:" + port},
                 {"AWS_ACCESS_KEY_ID", "k"},
                 {"AWS_SECRET_ACCESS_KEY", "secret-pw"}}));
  ASSERT_TRUE(factory.has_value());
  auto db = factory->OpenDatabase();
  ASSERT_FALSE(db.has_value());
  EXPECT_EQ(db.error().code, ErrorCode::kUnavailable);
  auto queue = factory->OpenQueue();
  ASSERT_FALSE(queue.has_value());
  EXPECT_EQ(queue.error().code, ErrorCode::kUnavailable);
  auto store = factory->OpenObjectStore();
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
  for (const auto& message : {db.error().message, queue.error().message, store.error().message}) {
    EXPECT_EQ(message.find("secret-pw"), std::string::npos) << message;
  }
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
