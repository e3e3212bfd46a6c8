/* The agent protocol (docs/agent-protocol.md): specs and helpers. */
#ifndef NL_INTERNAL_H
#define NL_INTERNAL_H

#include "common/json_spec.h"

#endif
