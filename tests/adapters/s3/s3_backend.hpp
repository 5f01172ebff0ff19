// The S3 backend of the ObjectStore contract suite: a fresh bucket per test on the endpoint named
// by INTAKE_TEST_S3_URL (skipped when unset).
#pragma once

#include "adapters/contract/object_store_contract.hpp"

namespace intake::adapters::testing {

ObjectStoreFactory S3ObjectStoreFactory();

}  // namespace intake::adapters::testing
