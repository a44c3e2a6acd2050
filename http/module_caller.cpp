// See module_caller.hpp.
#include "http/module_caller.hpp"

namespace http {

caf::expected<caf::actor> module_caller::resolve(const std::string& module,
                                                 std::chrono::milliseconds timeout) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (auto known = handles_.find(module); known != handles_.end())
      return known->second;
  }
  auto found = ask<caf::actor>(directory_, timeout, directory_get_atom::value, module);
  if (!found)
    return found;
  std::lock_guard<std::mutex> guard{mutex_};
  handles_[module] = *found;
  return found;
}

void module_caller::forget(const std::string& module) {
  std::lock_guard<std::mutex> guard{mutex_};
  handles_.erase(module);
}

} // namespace http
