/* struct nl_error helpers. No rendering here: that is per API family. */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>

void nl_err_set_at(struct nl_error *err, const char *file, int line, int status,
		   const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->status = status;
	err->file = file;
	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}
