/* container.json: what a checkpoint image holds for the runtime, beside the
 * engine's files and the config (see internal.h).  Read back from an image
 * that may come from anywhere, so every member is checked for type and
 * bounds; members this version does not know are skipped, so a later
 * version may add some. */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "container/internal.h"

#define META_MAX_BYTES (64 * 1024)
#define META_NAME_MAX 255

void ckpt_meta_clear(struct ckpt_meta *m)
{
	free(m->id);
	free(m->bundle);
	free(m->net_name);
	free(m->ip);
	memset(m, 0, sizeof(*m));
}

char *ckpt_meta_json(const struct ckpt_meta *m)
{
	json_object *o = json_object_new_object(), *fds = json_object_new_array();
	json_object_object_add(o, "id", json_object_new_string(m->id));
	if (m->bundle)
		json_object_object_add(o, "bundle", json_object_new_string(m->bundle));
	for (int fd = 0; fd < CKPT_META_STDIO; fd++)
		if (m->stdio[fd])
			json_object_array_add(fds, json_object_new_int(fd));
	json_object_object_add(o, "stdio", fds);
	if (m->net_name && m->ip) {
		json_object *n = json_object_new_object();
		json_object_object_add(n, "name", json_object_new_string(m->net_name));
		json_object_object_add(n, "ip", json_object_new_string(m->ip));
		json_object_object_add(o, "network", n);
	}
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

/* A string member of at most max bytes, without NUL; absent: NULL. */
static int get_str(json_object *o, const char *key, size_t max, const char *what, char **ret,
		   struct cell_err **err)
{
	json_object *v;
	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return cell_err(err, 0, "%s: %s: not a string", what, key);
	size_t len = (size_t)json_object_get_string_len(v);
	const char *s = json_object_get_string(v);
	if (len > max || strlen(s) != len)
		return cell_err(err, 0, "%s: %s: longer than %zu bytes or not text", what, key, max);
	*ret = xstrdup(s);
	return 0;
}

static int get_stdio(json_object *o, const char *what, struct ckpt_meta *m, struct cell_err **err)
{
	json_object *v;
	if (!json_object_object_get_ex(o, "stdio", &v))
		return 0;
	if (!json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) > CKPT_META_STDIO)
		return cell_err(err, 0, "%s: stdio: not an array of at most %d fds", what,
				CKPT_META_STDIO);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *e = json_object_array_get_idx(v, i);
		int64_t fd = json_object_is_type(e, json_type_int) ? json_object_get_int64(e) : -1;
		if (fd < 0 || fd >= CKPT_META_STDIO)
			return cell_err(err, 0, "%s: stdio[%zu]: not an fd from 0 to %d", what, i,
					CKPT_META_STDIO - 1);
		m->stdio[fd] = true;
	}
	return 0;
}

static int get_network(json_object *o, const char *what, struct ckpt_meta *m,
		       struct cell_err **err)
{
	json_object *n;
	struct in_addr a;
	if (!json_object_object_get_ex(o, "network", &n))
		return 0;
	if (!json_object_is_type(n, json_type_object))
		return cell_err(err, 0, "%s: network: not an object", what);
	int r = get_str(n, "name", META_NAME_MAX, what, &m->net_name, err);
	if (r == 0)
		r = get_str(n, "ip", 15, what, &m->ip, err);
	if (r < 0)
		return r;
	if (!m->net_name || !m->ip)
		return cell_err(err, 0, "%s: network: needs a name and an ip", what);
	if (inet_pton(AF_INET, m->ip, &a) != 1)
		return cell_err(err, 0, "%s: network.ip: \"%s\" is not an IPv4 address", what, m->ip);
	return 0;
}

int ckpt_meta_parse(const char *text, size_t len, const char *what, struct ckpt_meta *ret,
		    struct cell_err **err)
{
	struct ckpt_meta m = { 0 };
	if (len > META_MAX_BYTES)
		return cell_err(err, EFBIG, "%s: more than %d bytes", what, META_MAX_BYTES);
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, text, (int)len);
	bool complete = json_tokener_get_error(tok) == json_tokener_success;
	for (size_t i = complete ? json_tokener_get_parse_end(tok) : len; i < len; i++)
		complete = complete && strchr(" \t\r\n", text[i]) && text[i];
	json_tokener_free(tok);
	int r = 0;
	if (!o || !complete || !json_object_is_type(o, json_type_object))
		r = cell_err(err, 0, "%s: not a JSON object", what);
	if (r == 0)
		r = get_str(o, "id", STATE_ID_MAX, what, &m.id, err);
	if (r == 0 && !m.id)
		r = cell_err(err, 0, "%s: id: missing", what);
	if (r == 0)
		r = get_str(o, "bundle", PATH_MAX - 1, what, &m.bundle, err);
	if (r == 0 && m.bundle && m.bundle[0] != '/')
		r = cell_err(err, 0, "%s: bundle: \"%s\" is not an absolute path", what, m.bundle);
	if (r == 0)
		r = get_stdio(o, what, &m, err);
	if (r == 0)
		r = get_network(o, what, &m, err);
	json_object_put(o);
	if (r < 0) {
		ckpt_meta_clear(&m);
		return r;
	}
	*ret = m;
	return 0;
}
