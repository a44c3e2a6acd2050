// See notification_sender.hpp: the file sender.
#include "notification_sender.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

namespace notifications {

namespace {

class file_sender : public notification_sender {
public:
  explicit file_sender(const std::string& path) {
    auto parent = std::filesystem::path{path}.parent_path();
    if (!parent.empty())
      std::filesystem::create_directories(parent);
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw std::runtime_error("cannot open notification outbox file " + path);
  }
  ~file_sender() override { ::close(fd_); }
  file_sender(const file_sender&) = delete;
  file_sender& operator=(const file_sender&) = delete;

  void send(const std::vector<notification>& batch) override {
    std::string text;
    for (auto& n : batch) {
      nlohmann::json line = {{"notificationId", n.id},      {"eventId", n.event_id},
                             {"eventName", n.event_name},   {"orderId", n.order_id},
                             {"customerId", n.customer_id}, {"channel", n.channel},
                             {"template", n.template_name}, {"createdAt", n.created_at}};
      text += line.dump() + "\n";
    }
    // O_APPEND makes the write land whole at the end; one flush to disk per batch.
    if (::write(fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::fdatasync(fd_) != 0)
      throw std::runtime_error("cannot write the notification outbox file");
  }

private:
  int fd_;
};

} // namespace

std::unique_ptr<notification_sender> make_file_sender(const std::string& path) {
  return std::make_unique<file_sender>(path);
}

} // namespace notifications
