// A PostgreSQL cluster of a test's own (scripts/pg-cluster, a free port, a directory under
// /tmp), for tests that stop and start a database server or need a second one, so that
// other tests running at the same time are not disturbed. Removed when the test ends.
#pragma once

#include <string>

namespace testing_support {

class private_cluster {
public:
  // Starts the cluster and creates `database` in it; `label` names its directory.
  private_cluster(const std::string& label, const std::string& database);
  ~private_cluster();
  private_cluster(const private_cluster&) = delete;
  private_cluster& operator=(const private_cluster&) = delete;

  bool start();
  void stop();
  int port() const { return port_; }
  // The superuser DSN of `database`.
  std::string dsn() const;

private:
  std::string dir_;
  int port_;
  std::string database_;
};

} // namespace testing_support
