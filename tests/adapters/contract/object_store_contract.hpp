// The ObjectStore seam of the contract suite: fresh, empty storage per test (an S3 adapter adds a
// factory to AllObjectStores() in tests/adapters/backends.cpp; nullptr skips).
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "ports/object_store.hpp"

namespace intake::adapters::testing {

class ObjectStoreHarness {
 public:
  virtual ~ObjectStoreHarness() = default;
  // The store under test; its bucket is ensured.
  virtual ports::ObjectStore& store() = 0;
  // A second store instance on the same storage (as after a restart).
  virtual std::unique_ptr<ports::ObjectStore> Reopen() = 0;
};

struct ObjectStoreFactory {
  std::string name;
  std::function<std::unique_ptr<ObjectStoreHarness>()> make;
};

inline void PrintTo(const ObjectStoreFactory& factory, std::ostream* os) { *os << factory.name; }

std::vector<ObjectStoreFactory> AllObjectStores();

}  // namespace intake::adapters::testing
