/* Key parsing and generation. libssh does the OpenSSH wire format; libcrypto parses
 * PEM certificates. */
#include "common/sshkey.h"

#include <libssh/libssh.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int md5_fp(ssh_key key, char *fp, size_t fplen)
{
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *hex;

	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_MD5, &hash, &hlen) != SSH_OK)
		return -1;
	hex = ssh_get_hexa(hash, hlen);
	ssh_clean_pubkey_hash(&hash);
	if (!hex)
		return -1;
	for (char *p = hex; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	snprintf(fp, fplen, "%s", hex);
	ssh_string_free_char(hex);
	return 0;
}

int sshkey_fingerprint(const char *public_key, char *fp, size_t fplen)
{
	char type[64], b64[16384];
	ssh_key key = NULL;
	enum ssh_keytypes_e kt;
	int rc;

	/* "<type> <base64> [comment]"; anything else is not an OpenSSH public key. */
	if (strlen(public_key) >= sizeof(b64) || sscanf(public_key, " %63s %16383s", type, b64) != 2)
		return -1;
	kt = ssh_key_type_from_name(type);
	if (kt == SSH_KEYTYPE_UNKNOWN)
		return -1;
	if (ssh_pki_import_pubkey_base64(b64, kt, &key) != SSH_OK)
		return -1;
	rc = md5_fp(key, fp, fplen);
	ssh_key_free(key);
	return rc;
}

int x509_fingerprint(const char *pem, char *fp, size_t fplen)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int rc = -1;

	if (cert && X509_digest(cert, EVP_sha1(), md, &n) == 1 && fplen >= n * 3) {
		for (unsigned int i = 0; i < n; i++)
			snprintf(fp + 3 * i, fplen - 3 * i, "%02x%s", md[i], i + 1 < n ? ":" : "");
		rc = 0;
	}
	X509_free(cert);
	BIO_free(bio);
	return rc;
}

int sshkey_generate(const char *comment, char **public_key, char **private_key, char *fp, size_t fplen)
{
	ssh_key key = NULL;
	char *pub = NULL, *priv = NULL;
	int rc = -1;

	*public_key = *private_key = NULL;
	if (ssh_pki_generate(SSH_KEYTYPE_RSA, 2048, &key) != SSH_OK)
		return -1;
	if (ssh_pki_export_pubkey_base64(key, &pub) != SSH_OK ||
	    ssh_pki_export_privkey_base64(key, NULL, NULL, NULL, &priv) != SSH_OK || md5_fp(key, fp, fplen))
		goto out;
	size_t len = strlen(pub) + strlen(comment) + 16;
	*public_key = malloc(len);
	*private_key = strdup(priv);
	if (!*public_key || !*private_key) {
		free(*public_key);
		free(*private_key);
		*public_key = *private_key = NULL;
		goto out;
	}
	snprintf(*public_key, len, "ssh-rsa %s %s", pub, comment);
	rc = 0;
out:
	if (priv) {
		explicit_bzero(priv, strlen(priv));
		ssh_string_free_char(priv);
	}
	ssh_string_free_char(pub);
	ssh_key_free(key);
	return rc;
}
