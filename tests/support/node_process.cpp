// See node_process.hpp.
#include "node_process.hpp"

#include "eventually.hpp"

#include "response_recorder.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace testing_support {

namespace {

int unbound_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

} // namespace

int free_port() {
  // The kernel may hand the same free port out twice in a row; a test asking for two
  // (a node's HTTP and BASP ports) must get two.
  static std::mutex mutex;
  static std::set<int> handed_out;
  std::lock_guard<std::mutex> lock{mutex};
  int port = unbound_port();
  while (!handed_out.insert(port).second)
    port = unbound_port();
  return port;
}

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
    return fd;
  if (fd >= 0)
    ::close(fd);
  return -1;
}

std::string broker_port_variable(const std::string& backend) {
  if (backend == "redis")
    return "MONOLITH_TEST_REDIS_PORT";
  if (backend == "nats")
    return "MONOLITH_TEST_NATS_PORT";
  if (backend == "rabbitmq")
    return "MONOLITH_TEST_RABBITMQ_PORT";
  return "";
}

bool through_edge() {
  const char* edge = std::getenv("MONOLITH_TEST_EDGE");
  return edge && std::string{edge} == "1";
}

std::vector<std::string> bus_args(const std::string& database_dsn) {
  const char* bus = std::getenv("MONOLITH_TEST_BUS");
  if (!bus || !*bus || std::string{bus} == "actors")
    return {};
  std::string backend{bus};
  auto variable = broker_port_variable(backend);
  const char* port = variable.empty() ? nullptr : std::getenv(variable.c_str());
  if (!port || !*port)
    throw std::runtime_error("MONOLITH_TEST_BUS=" + backend +
                             " needs its server: run the tests with scripts/test");
  // Tests share one server: each database gets streams and leases of its own.
  auto at = database_dsn.find("dbname=");
  auto prefix = at == std::string::npos
                    ? std::string{"monolith"}
                    : database_dsn.substr(at + 7, database_dsn.find(' ', at) - at - 7);
  return {"--app.bus.backend=" + backend, "--app.bus." + backend + "-port=" + port,
          "--app.bus.key-prefix=" + prefix};
}

node_process::node_process(node_options options)
    : options_(std::move(options)), http_port_(free_port()), node_port_(free_port()) {
  char tmpl[] = "/tmp/monolith-test-XXXXXX";
  dir_ = ::mkdtemp(tmpl);
  std::ofstream conf{dir_ + "/node.conf"};
  if (!options_.cluster_conf.empty()) {
    http_port_ = options_.cluster_http_port;
    node_port_ = options_.cluster_node_port;
    conf << options_.cluster_conf << "[app.notifications]\noutbox-file = \"" << dir_
         << "/notifications.jsonl\"\n"
         << options_.extra_conf << "\n";
    options_.extra_args.push_back("--app.node=" + options_.node_name);
    return;
  }
  conf << "[app]\nnode = \"main\"\n[app.nodes]\nmain = { host = \"127.0.0.1\", port = "
       << node_port_ << ", http-host = \"127.0.0.1\", http-port = " << http_port_ << " }\n"
       << "[app.http]\nthreads = 48\n"
       << "[app.notifications]\noutbox-file = \"" << dir_ << "/notifications.jsonl\"\n"
       << options_.extra_conf << "\n";
  if (through_edge()) {
    edge_port_ = free_port();
    conf << "[app.edge]\nport = " << edge_port_ << "\n";
  }
}

node_process::~node_process() {
  stop_edge();
  if (running()) {
    signal(SIGTERM);
    if (wait_exit(std::chrono::seconds{10}) == -1) {
      signal(SIGKILL);
      wait_exit(std::chrono::seconds{5});
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

namespace {

// Runs `args` as a child with stdout to `out_path` and stderr to `err_path` (appended).
int spawn(const std::vector<std::string>& args, const std::string& out_path,
          const std::string& err_path) {
  int pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// The node binary: this build's, or MONOLITH_TEST_BINARY's (scripts/sanitize runs the
// suites that drive a node over HTTP against its sanitized build of the node).
std::string node_binary() {
  auto* other = std::getenv("MONOLITH_TEST_BINARY");
  return other && *other ? other : MONOLITH_BINARY;
}

bool answers_health(int port) {
  httplib::Client probe{"127.0.0.1", port};
  probe.set_connection_timeout(std::chrono::milliseconds{200});
  auto res = probe.Get("/health");
  return res && res->status == 200;
}

} // namespace

std::vector<std::string> node_process::arguments() const {
  std::vector<std::string> args = {node_binary(), "--config-file=" + dir_ + "/node.conf",
                                   "--app.database.dsn=" + options_.database_dsn};
  auto bus = bus_args(options_.database_dsn);
  args.insert(args.end(), bus.begin(), bus.end());
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  return args;
}

// nginx as scripts/run starts it, with the configuration the binary generates; it stays
// up while the node is stopped and started again.
void node_process::start_edge() {
  if (edge_pid_ > 0)
    return;
  auto prefix = dir_ + "/edge";
  std::filesystem::create_directories(prefix);
  // nginx's workers run as nobody when the tests run as root: they must reach the
  // temporary files' directories under the prefix.
  for (auto& path : {dir_, prefix})
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                  std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                  std::filesystem::perms::others_exec);
  auto args = arguments();
  args.push_back("--edge-config");
  int generator = spawn(args, prefix + "/nginx.conf", dir_ + "/node.log");
  int status = 0;
  ::waitpid(generator, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("monolith --edge-config failed:\n" + log());
  edge_pid_ =
      spawn({"nginx", "-p", prefix + "/", "-c", "nginx.conf", "-e", "stderr", "-g", "daemon off;"},
            dir_ + "/edge.log", dir_ + "/edge.log");
  bool answered = eventually(std::chrono::seconds{10}, [&] {
    if (::waitpid(edge_pid_, &status, WNOHANG) == edge_pid_) {
      edge_pid_ = -1;
      std::ifstream in{dir_ + "/edge.log"};
      std::stringstream text;
      text << in.rdbuf();
      throw std::runtime_error("nginx exited during start:\n" + text.str());
    }
    return answers_health(edge_port_);
  });
  if (!answered)
    throw std::runtime_error("the edge did not answer /health within 10 s");
}

void node_process::stop_edge() {
  if (edge_pid_ <= 0)
    return;
  ::kill(edge_pid_, SIGTERM);
  int status = 0;
  eventually(
      std::chrono::seconds{5}, [&] { return ::waitpid(edge_pid_, &status, WNOHANG) == edge_pid_; },
      std::chrono::milliseconds{20});
  ::kill(edge_pid_, SIGKILL); // no-op once it has gone
  ::waitpid(edge_pid_, &status, WNOHANG);
  edge_pid_ = -1;
}

void node_process::launch() {
  std::string log_path = dir_ + "/node.log";
  pid_ = spawn(arguments(), log_path, log_path);
}

void node_process::start() {
  launch();
  bool up = eventually(std::chrono::seconds{20}, [&] {
    if (!running())
      throw std::runtime_error("monolith exited during start:\n" + log());
    return http_port_ == 0 ? log().find("node started") != std::string::npos
                           : answers_health(http_port_);
  });
  if (!up)
    throw std::runtime_error("monolith did not answer /health within 20 s:\n" + log());
  if (http_port_ != 0 && edge_port_ != 0)
    start_edge();
}

void node_process::signal(int sig) {
  if (pid_ > 0)
    ::kill(pid_, sig);
}

int node_process::wait_exit(std::chrono::milliseconds timeout) {
  if (!eventually(
          timeout, [&] { return !running(); }, std::chrono::milliseconds{20}))
    return -1;
  return exit_status_;
}

bool node_process::running() {
  if (pid_ <= 0)
    return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

std::string node_process::notifications_file() const {
  return dir_ + "/notifications.jsonl";
}

std::string node_process::log() const {
  std::ifstream in{dir_ + "/node.log"};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<httplib::Client> node_process::client() const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", http_port());
  c->set_read_timeout(std::chrono::seconds{15});
  record_responses(*c);
  return c;
}

nlohmann::json body_of(const httplib::Result& result) {
  if (!result)
    throw std::runtime_error("no HTTP response: " + httplib::to_string(result.error()));
  return nlohmann::json::parse(result->body);
}

} // namespace testing_support
