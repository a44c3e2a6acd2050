// See validation.hpp.
#include "actors/validation.hpp"

std::size_t code_points(const std::string& text) {
  std::size_t n = 0;
  for (unsigned char c : text)
    n += (c & 0xC0) != 0x80;
  return n;
}

bool contains_space(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    int extra = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
    uint32_t cp = extra == 0 ? c : c & (0x3F >> extra);
    for (int k = 1; k <= extra && i + k < text.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    i += 1 + extra;
    bool space = (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
                 cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
                 cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
    if (space)
      return true;
  }
  return false;
}

void check_length(field_issues& issues, const std::string& field, const std::string& text,
                  std::size_t min, std::size_t max) {
  if (text.find('\0') != std::string::npos) {
    issues.push_back({field, "must not contain NUL characters"});
    return;
  }
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
    if (dash ? c != '-'
             : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
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
