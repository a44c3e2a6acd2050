// Registration of the inventory module; included only by modules/modules.cpp.
#pragma once

#include "actors/module_definition.hpp"

namespace inventory {

module_definition definition();

} // namespace inventory
