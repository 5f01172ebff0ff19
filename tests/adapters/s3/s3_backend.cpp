#include "adapters/s3/s3_backend.hpp"

namespace intake::adapters::testing {

// TODO(s3): the S3 adapter fills this in.
ObjectStoreFactory S3ObjectStoreFactory() {
  return {"S3", []() -> std::unique_ptr<ObjectStoreHarness> { return nullptr; }};
}

}  // namespace intake::adapters::testing
