/* struct nl_error helpers. No rendering here: that is per API family. */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

void nl_err_set_at(struct nl_error *err, const char *file, int line, int status,
		   const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return;
	err->status = status;
	err->file = file;
	err->line = line;
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* A truncated message must not end inside a UTF-8 sequence: the JSON renderers
	 * refuse invalid UTF-8 and the client would get an empty body. */
	if (n >= (int)sizeof(err->msg))
		nl_utf8_trim(err->msg);
}
