/* argon2id via libsodium's crypto_pwhash_str. A semaphore caps simultaneous hashes,
 * so a burst of logins costs queueing time, not memory (each hash holds memlimit). */
#include "common/password.h"

#include <semaphore.h>
#include <string.h>

static sem_t slots;
static unsigned long long ops = 2;
static size_t mem = 19456 * 1024;

int password_init(int opslimit, int memlimit_kib, int concurrency)
{
	if (sodium_init() < 0)
		return -1;
	ops = (unsigned long long)opslimit;
	mem = (size_t)memlimit_kib * 1024;
	if (mem < crypto_pwhash_MEMLIMIT_MIN)
		mem = crypto_pwhash_MEMLIMIT_MIN;
	if (ops < crypto_pwhash_OPSLIMIT_MIN)
		ops = crypto_pwhash_OPSLIMIT_MIN;
	return sem_init(&slots, 0, (unsigned)concurrency);
}

int password_hash(const char *pw, char *out)
{
	int rc;
	sem_wait(&slots);
	rc = crypto_pwhash_str_alg(out, pw, strlen(pw), ops, mem, crypto_pwhash_ALG_ARGON2ID13);
	sem_post(&slots);
	return rc;
}

bool password_verify(const char *hash, const char *pw)
{
	int rc;
	if (!hash || !*hash)
		return false;
	sem_wait(&slots);
	rc = crypto_pwhash_str_verify(hash, pw, strlen(pw));
	sem_post(&slots);
	return rc == 0;
}
