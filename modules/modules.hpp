// The list of modules this binary knows, in start order. Adding a module is one line in
// modules.cpp plus its folder; removing one is the reverse.
#pragma once

#include "actors/module_definition.hpp"

#include <vector>

std::vector<module_definition> all_modules();
