#ifndef NL_TOKENS_H
#define NL_TOKENS_H
#include <stdbool.h>

struct token_row;

/* SHA-256 hex of a bearer token: the only form a token is stored in. */
void token_hash(const char *token, char out[65]);

/* True while a stored token may be used, validated or re-scoped: not revoked, not
 * expired, its user and project enabled, and every domain it involves (the user's,
 * the project's, a domain scope) enabled. Keystone refuses the token otherwise. */
bool token_row_live(const struct token_row *t);
#endif
