// In-memory, thread-safe implementations of every port, for use-case and handler tests.
// Each fake derives from FailureInjector: `fake.FailNext(n, ErrorCode::kUnavailable, "Put")` makes
// the next n calls of that method fail; `fake.SetDown(true)` fails every call (Check() included).
//
// Typical wiring:
//   FakeClock clock;  SequentialIds ids;
//   FakeObjectStore objects;  FakeTaskStore tasks;  FakeRecordStore records(tasks);
//   FakeTaskQueue queue(clock);  FakeIdempotencyStore idempotency;
#pragma once

#include "fakes/failure_injector.hpp"        // IWYU pragma: export
#include "fakes/fake_clock.hpp"              // IWYU pragma: export
#include "fakes/fake_idempotency_store.hpp"  // IWYU pragma: export
#include "fakes/fake_object_store.hpp"       // IWYU pragma: export
#include "fakes/fake_record_store.hpp"       // IWYU pragma: export
#include "fakes/fake_task_queue.hpp"         // IWYU pragma: export
#include "fakes/fake_task_store.hpp"         // IWYU pragma: export
