// The strict JSON body reader (http/json_body.cpp) on any bytes: never crashes, and the
// canonical text of what it accepts reads back to the same canonical text.
#include "http/json_body.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  http::is_json_media_type(text);
  http::is_json_document(text);
  auto object = http::parse_json_object(text);
  if (!object)
    return 0;
  auto canonical = http::canonical_json(*object);
  auto again = http::parse_json_object(canonical);
  if (!again || http::canonical_json(*again) != canonical)
    std::abort(); // the canonical form must be a fixed point
  return 0;
}
