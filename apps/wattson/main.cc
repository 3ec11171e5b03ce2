// wattson: one binary, several jobs (see `wattson --help`).
#include <cstdio>

#include "CLI/CLI.hpp"

int main(int argc, char** argv) {
  CLI::App app{"wattson: power per process, container, pod and VM"};
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
