#include "main/commands.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "main/config.hpp"
#include "main/ingest_command.hpp"
#include "main/logging.hpp"
#include "main/shutdown_signals.hpp"
#include "main/wiring.hpp"

namespace intake::main_ {
namespace {

constexpr const char* kVersion = INTAKE_VERSION;

constexpr const char* kFooter =
    "Configuration comes from flags, then the environment, then a .env file in the working\n"
    "directory (see .env.example for every variable and its default).";

Config LoadOrThrow(const FlagOverrides& flags) {
  auto config = LoadConfigFromProcess(flags);
  if (!config) throw StartupError(config.error().message);
  return *config;
}

// One line naming the process, its backends and its limits; no secrets (MaskUrl).
void LogStartup(const Config& c, std::string_view role) {
  spdlog::info("Intake {} {} (pid {}), data dir {}, log level {}, PHI in logs {}", kVersion, role,
               getpid(), c.data_dir, LogLevelName(c.log_level), c.log_phi ? "on" : "off");
}

int RunService(const FlagOverrides& flags, ServiceRoles roles, std::string_view role) {
  // First, before any thread starts (they inherit the mask): from here on a SIGTERM, even one
  // sent during start-up, waits for WaitForShutdownSignal and ends in a drain and exit 0. The
  // start-up line below is logged after this, so whoever sees it may signal safely.
  BlockShutdownSignals();
  const Config config = LoadOrThrow(flags);
  SetUpLogging(config.log_level, config.log_format);
  LogStartup(config, role);
  auto service = Service::Build(config, roles);
  if (!service) throw StartupError(service.error().message);
  if (auto started = (*service)->Start(); !started) {
    throw StartupError(started.error().message);
  }
  const char* signal = WaitForShutdownSignal();
  spdlog::info("{} received: draining", signal);
  ExitOnSecondSignal();
  (*service)->Stop();
  return 0;
}

int RunMigrate(const FlagOverrides& flags) {
  const Config config = LoadOrThrow(flags);
  SetUpLogging(config.log_level, config.log_format);
  spdlog::info("applying migrations to {}", MaskUrl(config.database_url));
  auto version = MigrateDatabase(config);
  if (!version) {
    if (version.error().code == ErrorCode::kInvalidArgument) {
      throw StartupError(version.error().message);
    }
    std::cerr << "intake migrate: " << version.error().message << "\n";
    return 1;
  }
  std::cout << "database schema at version " << *version << std::endl;
  return 0;
}

int RunIngestCommand(const FlagOverrides& flags, IngestArgs args) {
  if (args.url.empty()) {
    const Config config = LoadOrThrow(flags);
    const bool ipv6 = config.host.find(':') != std::string::npos;
    args.url = "http://" + (ipv6 ? "[" + config.host + "]" : config.host) + ":" +
               std::to_string(config.port);
  }
  return RunIngest(args);
}

void AddGlobalFlags(CLI::App& app, FlagOverrides& flags) {
  app.add_option("--host", flags["HOST"], "listen address (HOST, default 127.0.0.1)")
      ->type_name("ADDRESS");
  app.add_option("--port", flags["PORT"], "listen port (PORT, default 8000)")->type_name("INT");
  app.add_option("--data-dir", flags["DATA_DIR"], "embedded data folder (DATA_DIR, default ./data)")
      ->type_name("DIR");
  app.add_option("--database-url", flags["DATABASE_URL"],
                 "sqlite:///path or postgresql://… (DATABASE_URL)")
      ->type_name("URL");
  app.add_option("--broker-url", flags["BROKER_URL"], "redis://host:port/db (BROKER_URL)")
      ->type_name("URL");
  app.add_option("--workers", flags["WORKER_CONCURRENCY"],
                 "worker threads (WORKER_CONCURRENCY, default: cores)")
      ->type_name("INT");
  app.add_option("--log-level", flags["LOG_LEVEL"],
                 "trace, debug, info, warning, error, critical, off (LOG_LEVEL)")
      ->type_name("LEVEL");
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"Intake: healthcare data ingestion service", "intake"};
  app.set_version_flag("--version", std::string("intake ") + kVersion);
  app.footer(kFooter);
  app.require_subcommand(1);
  FlagOverrides flags;
  AddGlobalFlags(app, flags);

  bool no_worker = false;
  auto* serve =
      app.add_subcommand("serve", "API (and, unless --no-worker, workers in the same process)");
  serve->add_flag("--no-worker", no_worker, "serve the API only");
  auto* worker = app.add_subcommand(
      "worker", "workers only; run as many as you like against the same backends");
  auto* migrate = app.add_subcommand("migrate", "apply database migrations and exit");
  IngestArgs ingest_args;
  auto* ingest = app.add_subcommand(
      "ingest", "submit CSV / NDJSON / JSON files to a running Intake; --wait shows progress");
  ingest->add_option("FILE", ingest_args.files, "files (.csv, .ndjson, .jsonl, .json)")->required();
  ingest->add_flag("--wait", ingest_args.wait,
                   "follow the tasks to their end, then print counters");
  ingest->add_option("--url", ingest_args.url, "Intake's base URL (default http://$HOST:$PORT)");
  auto* version = app.add_subcommand("version", "print the version");
  for (auto* sub : {serve, worker, migrate, ingest, version}) sub->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (*serve) {
    return RunService(flags, ServiceRoles{.http = true, .workers = !no_worker},
                      no_worker ? "serve --no-worker" : "serve");
  }
  if (*worker) return RunService(flags, ServiceRoles{.http = false, .workers = true}, "worker");
  if (*migrate) return RunMigrate(flags);
  if (*ingest) return RunIngestCommand(flags, std::move(ingest_args));
  std::cout << "intake " << kVersion << std::endl;
  return 0;
}

}  // namespace intake::main_
