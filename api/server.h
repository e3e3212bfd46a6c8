/* Starts and stops the HTTP listeners (one per API family). */
#ifndef NL_SERVER_H
#define NL_SERVER_H

#include "common/error.h"

int server_start(struct nl_error *err);
void server_stop(void);

#endif
