#ifndef NL_TOKENS_H
#define NL_TOKENS_H
/* SHA-256 hex of a bearer token: the only form a token is stored in. */
void token_hash(const char *token, char out[65]);
#endif
