// See module_caller.hpp.
#include "http/module_caller.hpp"

namespace http {

caf::expected<caf::actor> module_caller::resolve(const std::string& module,
                                                 std::chrono::milliseconds timeout,
                                                 bool local_only) {
  if (local_only)
    return ask<caf::actor>(directory_, timeout, directory_local_get_atom::value, module);
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (auto known = handles_.find(module); known != handles_.end())
      return known->second;
  }
  auto found = ask<caf::actor>(directory_, timeout, directory_get_atom::value, module);
  if (!found || found->node() != sys_.node())
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
