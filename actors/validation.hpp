// Small checks that every module's request rules are made of. Texts are what the
// client reads in "details" (docs/openapi.yaml), so they say what is allowed.
#pragma once

#include "actors/app_error.hpp"

#include <cstdint>
#include <string>

// Unicode code points of a valid UTF-8 string (the JSON parser has checked validity).
std::size_t code_points(const std::string& text);

// Whether `text` holds white space of any kind (ASCII or Unicode, e.g. U+00A0, U+3000).
bool contains_space(const std::string& text);

// Adds an issue when `text` is not min..max code points long or holds a NUL character.
void check_length(field_issues& issues, const std::string& field, const std::string& text,
                  std::size_t min, std::size_t max);

// Adds an issue when `value` is outside [min, max].
void check_range(field_issues& issues, const std::string& field, int64_t value, int64_t min,
                 int64_t max, const std::string& allowed);

// Whether `text` is a hyphenated UUID (ids in paths and bodies; either case is accepted,
// the database stores and returns lower case).
bool is_uuid(const std::string& text);

// ASCII lower case (ids as the database returns them).
std::string lower_case(std::string text);
