#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "support/environment.h"
#include "support/error.h"
#include "support/interrupt.h"

#ifndef NASX_VERSION
#define NASX_VERSION "dev"
#endif

int main(int argc, char** argv) {
  nasx::install_cleanup_handlers();  // SIGINT/SIGTERM remove temporary files; search goes graceful
  CLI::App app{"nasx: neural architecture search as program transformation exploration"};
  app.set_version_flag("--version", std::string("nasx ") + NASX_VERSION);
  app.require_subcommand(1);
  std::vector<std::pair<std::string, nasx::cli::Runner>> commands{
      {"conv", nasx::cli::add_conv_command(app)},
      {"transform", nasx::cli::add_transform_command(app)},
      {"search", nasx::cli::add_search_command(app)},
      {"tune", nasx::cli::add_tune_command(app)},
      {"export", nasx::cli::add_export_command(app)},
  };
  for (auto& c : nasx::cli::add_model_commands(app)) commands.push_back(std::move(c));
  for (auto& c : nasx::cli::add_proxy_commands(app)) commands.push_back(std::move(c));
  for (auto& c : nasx::cli::add_train_commands(app)) commands.push_back(std::move(c));
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (auto& [name, run] : commands) {
      known = known || name == argv[1];
      names += (names.empty() ? "" : ", ") + name;
    }
    if (!known) {
      std::cerr << "nasx: error: unknown command '" << argv[1] << "' (commands: " << names << ")\n";
      return nasx::kUserErrorExit;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "nasx: error: " << e.what() << "\n(run 'nasx --help' for usage)\n";
    return nasx::kUserErrorExit;
  }
  try {
    nasx::check_environment();
    for (auto& [name, run] : commands)
      if (app.got_subcommand(name)) return run();
    nasx::internal_error("no subcommand ran");
  } catch (const nasx::Interrupted& e) {
    std::cerr << "nasx: " << e.what()
              << "; what was measured is kept: run the same command to "
                 "resume\n";
    return nasx::kInterruptedExit;
  } catch (const nasx::UserError& e) {
    std::cerr << "nasx: error: " << e.what() << "\n";
    return nasx::kUserErrorExit;
  } catch (const std::exception& e) {
    if (nasx::interrupted()) {  // e.g. a compiler killed by the same Ctrl-C
      std::cerr << "nasx: interrupted\n";
      return nasx::kInterruptedExit;
    }
    std::cerr << "nasx: internal error: " << e.what() << "\n";
    return nasx::kInternalErrorExit;
  }
}
