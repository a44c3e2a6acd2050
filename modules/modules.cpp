// The module list (see modules.hpp): the one place that includes each module.hpp.
#include "modules/modules.hpp"

#include "modules/customers/module.hpp"
#include "modules/inventory/module.hpp"
#include "modules/notifications/module.hpp"
#include "modules/orders/module.hpp"

std::vector<module_definition> all_modules() {
  return {customers::definition(), inventory::definition(), orders::definition(),
          notifications::definition()};
}
