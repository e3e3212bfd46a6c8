/* Small helpers with no better home: ids, time, UTF-8. */
#ifndef NL_UTIL_H
#define NL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#define NL_UUID_LEN 36

/* Random (v4) UUID, lowercase with dashes: Nova resource ids. out: 37 bytes. */
void nl_uuid_new(char *out);
/* Random UUID as 32 lowercase hex digits: Keystone ids. out: 33 bytes. */
void nl_uuid_hex_new(char *out);
/* oslo_utils.uuidutils.is_uuid_like: dashed or 32 hex, any case. */
bool nl_is_uuid_like(const char *s);

/* Wall clock, microseconds since the epoch. */
int64_t nl_now_us(void);
/* "2026-11-25T07:52:07.000000Z" (Keystone) when z, "...07.000000" (Nova) otherwise. buf >= 32. */
void nl_time_iso(int64_t us, bool z, char *buf, size_t len);
/* "2026-11-25T07:52:07Z" (Nova created/updated fields). */
void nl_time_iso_s(int64_t us, char *buf, size_t len);

/* Number of code points in valid UTF-8, or -1 if invalid. */
long nl_utf8_len(const char *s);
/* Nova's "printable" name rule: valid UTF-8, every code point in the BMP, no C* or
 * Z* category except plain spaces (Zs), no leading/trailing whitespace. */
bool nl_name_is_printable(const char *s, bool allow_edge_space);

/* Nova's per-code-point rule behind nl_name_is_printable (BMP only), and whitespace. */
bool nl_cp_is_printable(uint32_t cp);
bool nl_cp_is_space(uint32_t cp);

/* Cuts an incomplete UTF-8 sequence off the end of s (after a truncating snprintf). */
void nl_utf8_trim(char *s);

/* Lowercase hex of n bytes into out (2n+1). */
void nl_hex(const unsigned char *in, size_t n, char *out);

/* strdup that aborts on ENOMEM: the daemon has no useful way to continue. */
char *nl_strdup(const char *s);
void *nl_calloc(size_t n, size_t sz);
void *nl_realloc(void *p, size_t sz);
/* Writes s to f with the five XML special characters escaped (libvirt XML built by
 * the compute agent: user-given names must never end an attribute or element). */
void nl_xml_escape(FILE *f, const char *s);
/* This machine's host name (cached; "localhost" if unknown): the API's own services' host. */
const char *nl_hostname(void);

#endif
