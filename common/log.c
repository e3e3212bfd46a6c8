/* stderr logger: "2026-11-25T07:52:07.123Z INFO message". One write(2) per line so
 * lines from worker threads never interleave. */
#include "common/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static const char *names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void log_set_level(enum log_level lvl) { min_level = lvl; }

/* Every control byte (and DEL) of the message is written as \xNN, so no caller can forge a
 * log line (a decoded %0a in a URL) or send terminal escapes (%1b) through the log, whatever
 * it passes in; backslash itself is doubled so the escaping is unambiguous. */
size_t log_escape(char *out, size_t outlen, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (outlen == 0)
		return 0;
	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		size_t need = (c < 0x20 || c == 0x7f) ? 4 : c == '\\' ? 2 : 1;
		if (o + need >= outlen)
			break;
		if (need == 4) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			if (need == 2)
				out[o++] = '\\';
			out[o++] = (char)c;
		}
	}
	out[o] = 0;
	return o;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[2048], raw[1536];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;

	if (lvl < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ", ts.tv_nsec / 1000000, names[lvl]);
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	n += log_escape(line + n, sizeof(line) - n - 1, raw);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nothing sensible to do if stderr is gone */
	}
}
