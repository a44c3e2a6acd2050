// See private_cluster.hpp.
#include "private_cluster.hpp"

#include "node_process.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace testing_support {

namespace {

const std::string script = std::string{MONOLITH_SOURCE_DIR} + "/scripts/pg-cluster";

int run(const std::string& command) {
  return std::system(command.c_str());
}

} // namespace

private_cluster::private_cluster(const std::string& label, const std::string& database)
    : dir_("/tmp/monolith-" + label + "-" + std::to_string(::getpid())), port_(free_port()),
      database_(database) {
  BOOST_REQUIRE_MESSAGE(start(), "cannot start a private PostgreSQL cluster in " << dir_);
  BOOST_REQUIRE(run(script + " createdb " + std::to_string(port_) + " " + database_) == 0);
}

private_cluster::~private_cluster() {
  stop();
  std::filesystem::remove_all(dir_);
}

bool private_cluster::start() {
  return run(script + " start " + dir_ + " " + std::to_string(port_) +
             " fsync=off synchronous_commit=off") == 0;
}

void private_cluster::stop() {
  run(script + " stop " + dir_);
}

std::string private_cluster::dsn() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + database_;
}

} // namespace testing_support
