// FileObjectStore specifics beyond the ObjectStore contract: layout on disk, temp files, Check.
#include "adapters/file/file_object_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "adapters/contract/test_util.hpp"

namespace intake::adapters::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> FilesIn(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(FileObjectStore, StoresObjectsAtRootBucketKey) {
  TempDir dir;
  file::FileObjectStore store(dir.path(), "patient-intake");
  ASSERT_OK(store.EnsureBucket());
  ASSERT_OK(store.Put("a.csv", "hello"));
  std::ifstream in(dir.path() / "patient-intake" / "a.csv", std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "hello");
  EXPECT_EQ(FilesIn(dir.path() / "patient-intake"), std::vector<std::string>{"a.csv"});
}

TEST(FileObjectStore, AbortedWriterRemovesItsTempFile) {
  TempDir dir;
  file::FileObjectStore store(dir.path(), "b");
  ASSERT_OK(store.EnsureBucket());
  {
    auto writer = store.BeginPut("x.csv");
    ASSERT_OK(writer);
    ASSERT_OK((*writer)->Write("partial"));
    EXPECT_EQ(FilesIn(store.bucket_dir()).size(), 1u);  // the temp file
  }
  EXPECT_TRUE(FilesIn(store.bucket_dir()).empty());
}

TEST(FileObjectStore, CommittedWriterLeavesOnlyTheObject) {
  TempDir dir;
  file::FileObjectStore store(dir.path(), "b");
  ASSERT_OK(store.EnsureBucket());
  auto writer = store.BeginPut("x.csv");
  ASSERT_OK(writer);
  ASSERT_OK((*writer)->Write("data"));
  ASSERT_OK((*writer)->Commit());
  EXPECT_CODE((*writer)->Write("more"), ErrorCode::kInvalidArgument);
  writer->reset();
  EXPECT_EQ(FilesIn(store.bucket_dir()), std::vector<std::string>{"x.csv"});
}

TEST(FileObjectStore, ExistingKeyIsNeverReplaced) {
  TempDir dir;
  file::FileObjectStore store(dir.path(), "b");
  ASSERT_OK(store.EnsureBucket());
  ASSERT_OK(store.Put("x.csv", "first"));
  EXPECT_CODE(store.Put("x.csv", "second"), ErrorCode::kConflict);
  EXPECT_EQ(FilesIn(store.bucket_dir()), std::vector<std::string>{"x.csv"});
}

TEST(FileObjectStore, HiddenNamesAreNotKeys) {
  TempDir dir;
  file::FileObjectStore store(dir.path(), "b");
  ASSERT_OK(store.EnsureBucket());
  EXPECT_CODE(store.Put(".tmp-x", "x"), ErrorCode::kInvalidArgument);
}

TEST(FileObjectStore, CheckFailsUntilTheBucketExists) {
  TempDir dir;
  file::FileObjectStore store(dir.path() / "objects", "b");
  EXPECT_CODE(store.Check(), ErrorCode::kUnavailable);
  EXPECT_CODE(store.Put("x.csv", "x"), ErrorCode::kUnavailable);
  ASSERT_OK(store.EnsureBucket());
  EXPECT_OK(store.Check());
}

}  // namespace
}  // namespace intake::adapters::testing
