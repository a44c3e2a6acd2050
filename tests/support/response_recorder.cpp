// See response_recorder.hpp. One JSON line per response: method, path (with its query),
// status, Content-Type and body.
#include "response_recorder.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>

namespace testing_support {

namespace {

// The file of this test process, opened (and emptied) at the first response; shared by
// every client, possibly on several threads.
class response_file {
public:
  static std::shared_ptr<response_file> of_this_process() {
    static auto file = [] {
      auto* path = std::getenv("MONOLITH_TEST_RESPONSES");
      return path && *path ? std::make_shared<response_file>(path) : nullptr;
    }();
    return file;
  }

  explicit response_file(const std::string& path) : out_{path, std::ios::trunc} {}

  void append(const httplib::Request& req, const httplib::Response& res) {
    nlohmann::json line{{"method", req.method},
                        {"path", req.path},
                        {"status", res.status},
                        {"contentType", res.get_header_value("Content-Type")},
                        {"body", res.body}};
    std::lock_guard<std::mutex> lock{mutex_};
    out_ << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    out_.flush();
  }

private:
  std::mutex mutex_;
  std::ofstream out_;
};

} // namespace

void record_responses(httplib::Client& client) {
  if (auto file = response_file::of_this_process())
    client.set_logger([file](const httplib::Request& req, const httplib::Response& res) {
      file->append(req, res);
    });
}

} // namespace testing_support
