// The notifications module publishes no events: it is the end of the saga.
#pragma once
