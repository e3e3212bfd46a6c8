/* libFuzzer target: the configuration file parser (common/config.c over libinih).
 *
 * Input: the file's bytes, read through config_load_stream (what config_load_file
 * does after fopen). Invariants: no crash or UB; a failure leaves a NUL-terminated
 * one-line reason; on success every string option is NUL-terminated within its field
 * and the sample writer still runs on the result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nl_config c;
	char err[256];

	if (size == 0)
		return 0;
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	config_defaults(&c);
	err[0] = '\0';
	int rc = config_load_stream(&c, f, "fuzz.conf", err, sizeof(err));
	fclose(f);
	if (rc && (!err[0] || strnlen(err, sizeof(err)) == sizeof(err) || strchr(err, '\n')))
		abort();
	if (rc == 0) {
		if (strnlen(c.state_dir, sizeof(c.state_dir)) == sizeof(c.state_dir) ||
		    strnlen(c.bind, sizeof(c.bind)) == sizeof(c.bind) ||
		    strnlen(c.log_level, sizeof(c.log_level)) == sizeof(c.log_level) ||
		    c.workers < 1 || c.max_body_bytes < 1024 || c.per_ip_connections < 1)
			abort();
	}
	return 0;
}
