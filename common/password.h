/* Password hashing: argon2id (libsodium), cost from config, bounded concurrency. */
#ifndef NL_PASSWORD_H
#define NL_PASSWORD_H

#include <sodium.h>
#include <stdbool.h>

#define PASSWORD_MAX_BYTES 4096   /* Keystone's max_password_length (OSSA-2012-002) */

int password_init(int opslimit, int memlimit_kib, int concurrency);
/* out: crypto_pwhash_STRBYTES. Returns 0 or -1 (out of memory). */
int password_hash(const char *pw, char *out);
bool password_verify(const char *hash, const char *pw);

#endif
