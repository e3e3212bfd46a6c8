/* Running a helper program (qemu-img) from the agent: fork + execvp, no shell, stdin
 * from /dev/null, stdout and stderr captured together, a time limit after which the child
 * (and its process group) is killed. The agent uses Debian's qemu-img for image work
 * because it is what Nova uses and what every operator can run by hand to check. */
#ifndef NL_PROC_H
#define NL_PROC_H

#include <stddef.h>

#include "common/error.h"

/* Runs argv (argv[0] looked up in PATH). out (may be NULL) gets the first outlen-1 bytes
 * of the combined output, NUL-terminated. Returns the exit status (0..255), or -1 with
 * err when it could not run, was killed by a signal or ran past timeout_ms. */
int proc_run(const char *const argv[], char *out, size_t outlen, int timeout_ms, struct nl_error *err);

#endif
