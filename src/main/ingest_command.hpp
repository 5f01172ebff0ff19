// `intake ingest FILE… [--wait] [--url URL]`: a client of a running Intake. Streams each file to
// POST /ingest (.csv as text/csv, .ndjson/.jsonl as application/x-ndjson, .json as
// application/json), prints each task_id on stdout; with --wait follows GET /tasks/{id} every
// ~200 ms (a progress bar on stderr when it is a terminal), then prints the counters.
#pragma once

#include <string>
#include <vector>

namespace intake::main_ {

struct IngestArgs {
  std::vector<std::string> files;
  bool wait = false;
  std::string url;  // base URL, e.g. http://127.0.0.1:8000
};

// Exit status: 0 when every file was accepted (and, with --wait, every task ended SUCCESS);
// 1 with a one-line reason on stderr otherwise.
int RunIngest(const IngestArgs& args);

}  // namespace intake::main_
