// Registration of the customers module; included only by modules/modules.cpp.
#pragma once

#include "actors/module_definition.hpp"

namespace customers {

module_definition definition();

} // namespace customers
