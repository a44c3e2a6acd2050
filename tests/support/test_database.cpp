// See test_database.hpp.
#include "test_database.hpp"

#include "persistence/pg.hpp"

#include <cstdlib>
#include <random>
#include <stdexcept>
#include <unistd.h>

namespace testing_support {

std::string admin_dsn(const std::string& database) {
  const char* port = std::getenv("MONOLITH_TEST_PG_PORT");
  if (!port || !*port)
    throw std::runtime_error("MONOLITH_TEST_PG_PORT is not set: run the tests with scripts/test");
  return "host=127.0.0.1 port=" + std::string{port} + " user=postgres dbname=" + database;
}

test_database::test_database(const std::string& label) {
  std::random_device rd;
  name_ = "t_" + label + "_" + std::to_string(getpid()) + "_" + std::to_string(rd() % 100000);
  persistence::pg_connection admin{admin_dsn()};
  admin.exec("CREATE DATABASE " + admin.quote_identifier(name_));
}

test_database::~test_database() {
  try {
    persistence::pg_connection admin{admin_dsn()};
    admin.exec("DROP DATABASE IF EXISTS " + admin.quote_identifier(name_) + " WITH (FORCE)");
    auto roles =
        admin.exec("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", {name_ + "_"});
    for (int i = 0; i < roles.rows(); ++i)
      admin.exec("DROP ROLE IF EXISTS " + admin.quote_identifier(roles.string(i, 0)));
  } catch (const std::exception&) {
    // Leave it: the cluster is removed after the run anyway.
  }
}

std::string test_database::module_dsn(const std::string& module) const {
  return "host=127.0.0.1 port=" + std::string{std::getenv("MONOLITH_TEST_PG_PORT")} +
         " user=" + name_ + "_" + module + " dbname=" + name_;
}

} // namespace testing_support
