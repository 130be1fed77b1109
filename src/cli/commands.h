// The nasx subcommands. Each registers itself on the CLI11 app; main.cpp runs the chosen one and
// turns errors into exit codes (user error: one line on stderr and 2; internal error: 3).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "torch/verify.h"

namespace nasx::cli {

// A registered subcommand: run() returns the process exit code.
using Runner = std::function<int()>;

Runner add_conv_command(CLI::App& app);
Runner add_transform_command(CLI::App& app);
Runner add_search_command(CLI::App& app);
Runner add_tune_command(CLI::App& app);
Runner add_export_command(CLI::App& app);
// models, show, check, run, bench
std::vector<std::pair<std::string, Runner>> add_model_commands(CLI::App& app);
// fisher, legal
std::vector<std::pair<std::string, Runner>> add_proxy_commands(CLI::App& app);
// train, eval, verify
std::vector<std::pair<std::string, Runner>> add_train_commands(CLI::App& app);

// nasx verify's work, shared with nasx search --verify: reads the ARCH.json (width > 0 overrides
// its channel scale), trains with progress on stderr, returns the comparison (torch/verify.h).
VerifyReport run_verification(const std::string& arch_path, double width, const std::string& data,
                              VerifyOptions options);

}  // namespace nasx::cli
