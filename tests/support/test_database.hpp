// A fresh database per test fixture on the test cluster that scripts/test starts
// (MONOLITH_TEST_PG_PORT), dropped with its module roles afterwards, so tests running in
// parallel never share state.
#pragma once

#include <string>

namespace testing_support {

// "host=127.0.0.1 port=<test port> user=postgres" plus dbname; throws when the test
// cluster is not configured (tests fail, they do not skip).
std::string admin_dsn(const std::string& database = "postgres");

class test_database {
public:
  explicit test_database(const std::string& label);
  ~test_database();
  test_database(const test_database&) = delete;
  test_database& operator=(const test_database&) = delete;

  const std::string& name() const { return name_; }
  // The bootstrap DSN of this database (superuser).
  std::string dsn() const { return admin_dsn(name_); }
  // The DSN of a module's own role in this database.
  std::string module_dsn(const std::string& module) const;

private:
  std::string name_;
};

} // namespace testing_support
