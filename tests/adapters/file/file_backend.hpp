// The folder backend of the ObjectStore contract suite: a temp folder per test.
#pragma once

#include "adapters/contract/object_store_contract.hpp"

namespace intake::adapters::testing {

ObjectStoreFactory FileObjectStoreFactory();

}  // namespace intake::adapters::testing
