// Registration of the orders module; included only by modules/modules.cpp.
#pragma once

#include "actors/module_definition.hpp"

namespace orders {

module_definition definition();

} // namespace orders
