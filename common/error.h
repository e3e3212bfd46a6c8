/* One error type for the whole request path.
 *
 * Set where the problem is found (nl_err_set), passed up untouched, rendered once
 * by the API family (api/compute/fault.c, api/identity/error.c). The message is
 * the user-visible sentence; file:line go only to the log. */
#ifndef NL_ERROR_H
#define NL_ERROR_H

#include <stddef.h>

struct nl_error {
	int status;          /* HTTP status: 400, 401, 403, 404, 405, 409, 413, 415, 500 ... */
	char msg[1024];      /* whole sentence, safe to show to the caller */
	const char *file;    /* where it was set, for the log */
	int line;
};

void nl_err_set_at(struct nl_error *err, const char *file, int line, int status,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define nl_err_set(err, status, ...) nl_err_set_at((err), __FILE__, __LINE__, (status), __VA_ARGS__)

/* Convenience for the common "internal error" case: logs detail, shows a generic message. */
#define nl_err_internal(err, ...) nl_err_set((err), 500, __VA_ARGS__)

#endif
