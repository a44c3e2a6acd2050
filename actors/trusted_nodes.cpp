// See trusted_nodes.hpp.
#include "actors/trusted_nodes.hpp"

#include "actors/log.hpp"

caf::error trusted_nodes::refuse(const std::string& where) const {
  auto now = std::chrono::steady_clock::now();
  bool warn = false;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (now - warned_ > std::chrono::minutes{1}) {
      warned_ = now;
      warn = true;
    }
  }
  if (warn)
    logging::warn("refused a message from a node outside the cluster (or without a sender)",
                  {{"to", where}});
  return caf::make_error(caf::sec::unexpected_message);
}
