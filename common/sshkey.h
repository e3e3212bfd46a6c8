/* SSH and X.509 key handling for key pairs, through libssh and OpenSSL's libcrypto:
 * no hand-rolled key encoding. */
#ifndef NL_SSHKEY_H
#define NL_SSHKEY_H

#include <stddef.h>

/* Parses an OpenSSH public key line ("ssh-ed25519 AAAA... comment"). On success
 * writes the MD5 fingerprint ("aa:bb:...", 48 bytes) and returns 0; -1 if invalid. */
int sshkey_fingerprint(const char *public_key, char *fp, size_t fplen);
/* PEM X.509 certificate: SHA-1 fingerprint of its DER form, as Nova computes it. */
int x509_fingerprint(const char *pem, char *fp, size_t fplen);
/* Generates an RSA-2048 key pair (as Nova does). Outputs are owned (free()). */
int sshkey_generate(const char *comment, char **public_key, char **private_key, char *fp, size_t fplen);

#endif
