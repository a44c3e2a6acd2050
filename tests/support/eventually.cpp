// See eventually.hpp.
#include "eventually.hpp"

#include <thread>

namespace testing_support {

bool eventually(std::chrono::milliseconds limit, const std::function<bool()>& condition,
                std::chrono::milliseconds step) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (condition())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(step);
  }
}

} // namespace testing_support
