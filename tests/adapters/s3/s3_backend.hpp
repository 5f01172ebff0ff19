// The S3 backend of the ObjectStore contract suite: a fresh bucket per test on the endpoint named
// by INTAKE_TEST_S3_URL (skipped when unset), plus the helpers the S3-specific tests share.
#pragma once

#include <string>

#include "adapters/contract/object_store_contract.hpp"
#include "adapters/s3/s3_object_store.hpp"

namespace intake::adapters::testing {

ObjectStoreFactory S3ObjectStoreFactory();

// INTAKE_TEST_S3_URL, or "" when unset.
std::string TestS3Url();

// A fresh bucket name: "intake-test-<16 hex digits>".
std::string RandomBucketName();

// Options for the test server (s3rver's stock credentials S3RVER / S3RVER, us-east-1).
s3::S3Options TestS3Options(const std::string& bucket);

}  // namespace intake::adapters::testing
