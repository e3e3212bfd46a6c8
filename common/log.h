/* Logging to stderr, one line per event. Never pass a token or a password here. */
#ifndef NL_LOG_H
#define NL_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

#include <stddef.h>

void log_set_level(enum log_level lvl);
/* Copies `in` to `out` with control bytes as \xNN and '\\' doubled; returns the length. */
size_t log_escape(char *out, size_t outlen, const char *in);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
