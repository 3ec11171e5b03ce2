// wattson: one binary, several jobs (see `wattson --help`). main parses the command line, builds
// the logger and hands both to the chosen command; it holds no global state.
#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "agent_command.h"
#include "cli_util.h"
#include "common/logging.h"
#include "estimator_command.h"
#include "models_command.h"
#include "predict_command.h"
#include "train_command.h"

#ifndef WATTSON_VERSION
#define WATTSON_VERSION "unknown"
#endif

namespace wattson::cli {
namespace {

// The command path ("wattson models list") of the deepest subcommand the parser reached.
std::string CommandPath(const CLI::App& app, const CLI::App** deepest) {
  std::string path = "wattson";
  const CLI::App* level = &app;
  for (;;) {
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : level->get_subcommands()) next = sub;
    if (next == nullptr) break;
    path += " " + next->get_name();
    level = next;
  }
  *deepest = level;
  return path;
}

// A one-line message for a CLI11 parse error. CLI11 checks required options before it reports
// unexpected arguments, so an unknown option or command is looked for first: it is the real
// mistake ("predict --bogus" should not complain that --model is missing).
std::string UsageMessage(const CLI::ParseError& e, const CLI::App& app) {
  const CLI::App* deepest = nullptr;
  const std::string path = CommandPath(app, &deepest);
  const std::string hint = " (see '" + path + " --help')";
  std::vector<std::string> extras;
  for (const CLI::App* level = deepest; level != nullptr; level = level->get_parent()) {
    for (auto& r : level->remaining()) extras.push_back(r);
  }
  if (!extras.empty()) {
    const std::string& first = extras.front();
    if (first.size() > 1 && first[0] == '-') {
      return "unknown option '" + first + "' for '" + path + "'" + hint;
    }
    if (deepest->get_require_subcommand_min() > 0) {
      return "unknown command '" + first + "' for '" + path + "'" + hint;
    }
    return "unexpected argument '" + first + "' for '" + path + "'" + hint;
  }
  std::string msg = e.what();
  if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
  if (deepest->get_require_subcommand_min() > 0 && deepest->get_subcommands().empty() &&
      e.get_name() == "RequiredError") {
    std::vector<std::string> names;
    for (const CLI::App* sub : deepest->get_subcommands({})) names.push_back(sub->get_name());
    return "'" + path + "' needs a command: " + Join(names, ", ") + hint;
  }
  return msg + hint;
}

int Main(int argc, char** argv) {
  CLI::App app{"wattson: power per process, container, pod and VM; models to estimate it",
               "wattson"};
  app.set_version_flag("--version", "wattson " WATTSON_VERSION, "Print the version and exit");
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  app.footer(std::string(kExitCodeFooter));
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "Diagnostics on standard error from this level up")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();

  PredictOptions predict_opts;
  CLI::App* predict = AddPredictCommand(app, &predict_opts);
  ModelsOptions models_opts;
  ModelsCommands models = AddModelsCommand(app, &models_opts);
  TrainCliOptions train_opts;
  CLI::App* train = AddTrainCommand(app, &train_opts);
  TrainCliOptions evaluate_opts;
  CLI::App* evaluate = AddEvaluateCommand(app, &evaluate_opts);
  EstimatorCliOptions estimator_opts;
  CLI::App* estimator = AddEstimatorCommand(app, &estimator_opts);
  AgentCliOptions agent_opts;
  CLI::App* agent = AddAgentCommand(app, &agent_opts);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e);  // --help, --version
    }
    std::fprintf(stderr, "wattson: usage error: %s\n", UsageMessage(e, app).c_str());
    return kExitUsageError;
  }

  auto level = ParseLogLevel(log_level);
  if (!level.ok()) {
    std::fprintf(stderr, "wattson: usage error: %s\n", level.status().message().c_str());
    return kExitUsageError;
  }
  CliContext ctx;
  ctx.logger = MakeStderrLogger("wattson", *level);
  ctx.version = WATTSON_VERSION;

  if (predict->parsed()) return RunPredict(predict_opts, ctx);
  if (models.list->parsed()) return RunModelsList(models_opts.list, ctx);
  if (models.show->parsed()) return RunModelsShow(models_opts.show, ctx);
  if (models.convert->parsed()) return RunModelsConvert(models_opts.convert, ctx);
  if (models.select->parsed()) return RunModelsSelect(models_opts.select, ctx);
  if (train->parsed()) return RunTrain(train_opts, ctx, ShellJoin(argc, argv));
  if (evaluate->parsed()) return RunEvaluate(evaluate_opts, ctx, ShellJoin(argc, argv));
  if (estimator->parsed()) return RunEstimator(estimator_opts, ctx);
  if (agent->parsed()) return RunAgent(agent_opts, ctx);
  std::fprintf(stderr, "wattson: usage error: no command given (see 'wattson --help')\n");
  return kExitUsageError;
}

}  // namespace
}  // namespace wattson::cli

int main(int argc, char** argv) {
  try {
    return wattson::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    // Nothing below main should throw; this is the last line of defence, not a seam.
    std::fprintf(stderr, "wattson: internal error: %s\n", e.what());
    return wattson::cli::kExitRuntimeError;
  }
}
