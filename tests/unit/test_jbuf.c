/* common/jbuf.c: the JSON text writer must produce exactly what a JSON parser reads
 * back (commas, nesting, escapes), since large responses bypass jansson's encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/jbuf.h"

static void test_nesting_and_commas(void **state)
{
	struct jbuf b;
	(void)state;
	jb_init(&b, 8);   /* small: forces growth */
	jb_obj(&b);
	jb_key(&b, "a");
	jb_int(&b, -12);
	jb_key(&b, "list");
	jb_arr(&b);
	jb_str(&b, "x");
	jb_null(&b);
	jb_bool(&b, true);
	jb_obj(&b);
	jb_obj_end(&b);
	jb_arr(&b);
	jb_arr_end(&b);
	jb_arr_end(&b);
	jb_key(&b, "raw");
	jb_raw(&b, "{\"k\":1}", 7);
	jb_key(&b, "f");
	jb_strf(&b, "%s-%d", "n", 7);
	jb_obj_end(&b);
	assert_string_equal(b.s, "{\"a\":-12,\"list\":[\"x\",null,true,{},[]],\"raw\":{\"k\":1},\"f\":\"n-7\"}");
	jb_free(&b);
}

static void test_escapes_round_trip(void **state)
{
	static const char *const cases[] = {
		"plain", "quote \" and backslash \\", "newline\n tab\t cr\r", "\x01\x1f bell\b ff\f",
		"unicode \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "", "</script>",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jbuf b;
		json_error_t e;
		jb_init(&b, 16);
		jb_arr(&b);
		jb_str(&b, cases[i]);
		jb_arr_end(&b);
		json_t *v = json_loads(b.s, 0, &e);
		assert_non_null(v);
		assert_string_equal(json_string_value(json_array_get(v, 0)), cases[i]);
		json_decref(v);
		jb_free(&b);
	}
}

static void test_json_values_and_steal(void **state)
{
	struct jbuf b;
	size_t len;
	json_t *m = json_pack("{s:s}", "k", "v\""), *five = json_integer(5);
	(void)state;
	jb_init(&b, 64);
	jb_obj(&b);
	jb_key(&b, "m");
	jb_json(&b, m);
	jb_key(&b, "n");
	jb_json(&b, NULL);
	jb_key(&b, "i");
	jb_json(&b, five);   /* borrowed */
	jb_obj_end(&b);
	char *s = jb_steal(&b, &len);
	assert_null(b.s);
	assert_int_equal(len, strlen(s));
	assert_string_equal(s, "{\"m\":{\"k\":\"v\\\"\"},\"n\":null,\"i\":5}");
	free(s);
	json_decref(m);
	json_decref(five);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_and_commas),
		cmocka_unit_test(test_escapes_round_trip),
		cmocka_unit_test(test_json_values_and_steal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
