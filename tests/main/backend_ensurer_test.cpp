#include "main/backend_ensurer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace intake::main_ {
namespace {

namespace fs = std::filesystem;

class BackendEnsurerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("intake_ensurer_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  BackendFactory Factory(const fs::path& data_dir) {
    auto config = LoadConfig({{"DATA_DIR", data_dir.string()}}, "", {}, 1);
    EXPECT_TRUE(config.has_value());
    auto factory = BackendFactory::Create(*config);
    EXPECT_TRUE(factory.has_value());
    return *factory;
  }

  fs::path dir_;
};

TEST_F(BackendEnsurerTest, PublishesEveryBackendWhenTheyAnswer) {
  const BackendFactory factory = Factory(dir_ / "data");
  BackendGates gates;
  BackendEnsurer ensurer(factory, gates);
  EXPECT_TRUE(ensurer.TryOnce());
  EXPECT_NE(gates.database.Get(), nullptr);
  EXPECT_NE(gates.objects.Get(), nullptr);
  EXPECT_NE(gates.queue.Get(), nullptr);
}

TEST_F(BackendEnsurerTest, KeepsRetryingUntilThePathBecomesWritable) {
  const fs::path blocker = dir_ / "blocker";
  std::ofstream(blocker) << "x";
  const BackendFactory factory = Factory(blocker / "data");
  BackendGates gates;
  BackendEnsurer ensurer(factory, gates);
  EXPECT_FALSE(ensurer.TryOnce());
  DeferredRecordStore records(gates.database);
  const auto check = records.Check();
  ASSERT_FALSE(check.has_value());
  EXPECT_EQ(check.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(check.error().message.find("database not ready: cannot create"), std::string::npos)
      << check.error().message;

  ensurer.StartRetrying();
  fs::remove(blocker);
  EXPECT_TRUE(gates.database.WaitReady(std::chrono::seconds(10)));
  EXPECT_TRUE(gates.objects.WaitReady(std::chrono::seconds(10)));
  EXPECT_TRUE(gates.queue.WaitReady(std::chrono::seconds(10)));
  EXPECT_TRUE(records.Check().has_value());
  ensurer.Stop();
}

TEST_F(BackendEnsurerTest, StopEndsTheRetriesPromptly) {
  const fs::path blocker = dir_ / "blocker";
  std::ofstream(blocker) << "x";
  const BackendFactory factory = Factory(blocker / "data");
  BackendGates gates;
  BackendEnsurer ensurer(factory, gates);
  EXPECT_FALSE(ensurer.TryOnce());
  ensurer.StartRetrying();
  const auto start = std::chrono::steady_clock::now();
  ensurer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(gates.database.Get(), nullptr);
}

}  // namespace
}  // namespace intake::main_
