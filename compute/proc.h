/* Running a helper program from the agent (qemu-img, genisoimage, the KVM probe's QEMU):
 * fork + execvp, no shell. The child starts with an empty signal mask (the agent blocks
 * SIGTERM/SIGINT in its threads), stdin from /dev/null, in its own process group, and
 * it never outlives the call: when it exits or its time is up, the whole group is
 * killed, so a helper's own children cannot linger either. */
#ifndef NL_PROC_H
#define NL_PROC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

struct proc_result {
	int status;              /* the wait status (WIFEXITED...) when the program ran */
	bool timed_out;          /* killed because timeout_ms passed */
	int exec_errno;          /* not 0: it could not be executed (ENOENT: not installed) */
	long long elapsed_ms;
};

/* Runs argv (argv[0] looked up in PATH) for at most timeout_ms. stdout and stderr go to
 * out_fd, or, when out_fd < 0, into out (the first outlen-1 bytes, NUL-terminated; may
 * be NULL). 0 when it was started (what happened is in *res), -1 with errno when it
 * could not even be forked. */
int proc_exec(const char *const argv[], int out_fd, char *out, size_t outlen, int timeout_ms,
	      struct proc_result *res);

/* proc_exec with the output captured: the exit status (0..255), or -1 with err when it
 * could not run, was killed by a signal or ran past timeout_ms. */
int proc_run(const char *const argv[], char *out, size_t outlen, int timeout_ms, struct nl_error *err);

#endif
