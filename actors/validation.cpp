// See validation.hpp.
#include "actors/validation.hpp"

std::size_t code_points(const std::string& text) {
  std::size_t n = 0;
  for (unsigned char c : text)
    n += (c & 0xC0) != 0x80;
  return n;
}

void check_length(field_issues& issues, const std::string& field, const std::string& text,
                  std::size_t min, std::size_t max) {
  auto n = code_points(text);
  if (n < min || n > max)
    issues.push_back({field, "must be a string of " + std::to_string(min) + " to " +
                               std::to_string(max) + " characters"});
}

void check_range(field_issues& issues, const std::string& field, int64_t value, int64_t min,
                 int64_t max, const std::string& allowed) {
  if (value < min || value > max)
    issues.push_back({field, allowed});
}

bool is_uuid(const std::string& text) {
  if (text.size() != 36)
    return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return false;
  }
  return true;
}

std::string lower_case(std::string text) {
  for (auto& c : text)
    if (c >= 'A' && c <= 'Z')
      c = char(c - 'A' + 'a');
  return text;
}
