// The tests' one way to wait: poll a condition until it holds or a limit passes. A test
// that needs time waits for what it needs, bounded, never for a fixed sleep.
#pragma once

#include <chrono>
#include <functional>

namespace testing_support {

// Polls `condition` every `step` until it holds or `limit` passes; bounded by construction.
// Returns whether it held.
bool eventually(std::chrono::milliseconds limit, const std::function<bool()>& condition,
                std::chrono::milliseconds step = std::chrono::milliseconds{50});

} // namespace testing_support
