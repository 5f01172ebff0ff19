#include "adapters/file/file_backend.hpp"

#include "adapters/contract/test_util.hpp"
#include "adapters/file/file_object_store.hpp"

namespace intake::adapters::testing {
namespace {

class FileHarness : public ObjectStoreHarness {
 public:
  FileHarness() : store_(dir_.path() / "objects", "patient-intake") {
    EXPECT_OK(store_.EnsureBucket());
  }
  ports::ObjectStore& store() override { return store_; }
  std::unique_ptr<ports::ObjectStore> Reopen() override {
    return std::make_unique<file::FileObjectStore>(dir_.path() / "objects", "patient-intake");
  }

 private:
  TempDir dir_;
  file::FileObjectStore store_;
};

}  // namespace

ObjectStoreFactory FileObjectStoreFactory() {
  return {"Folder", [] { return std::make_unique<FileHarness>(); }};
}

}  // namespace intake::adapters::testing
