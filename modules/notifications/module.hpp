// Registration of the notifications module; included only by modules/modules.cpp.
#pragma once

#include "actors/module_definition.hpp"

namespace notifications {

module_definition definition();

} // namespace notifications
