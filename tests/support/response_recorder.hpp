// Records every response a test's HTTP client receives, so that scripts/check-responses can
// check each one against docs/openapi.yaml (ctest: openapi_responses_test). Recording is on
// when MONOLITH_TEST_RESPONSES names a file (tests/CMakeLists.txt sets it for the suites of
// the HTTP contract); each test process starts that file afresh.
#pragma once

#include <httplib.h>

namespace testing_support {

void record_responses(httplib::Client& client);

} // namespace testing_support
