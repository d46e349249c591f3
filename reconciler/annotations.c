/*
 * annotations.c - diagnostics as GitHub workflow commands and as a GitLab
 * Code Quality report; the Markdown plan's marker (annotations.h).
 */
#include "annotations.h"

#include <json-c/json.h>
#include <openssl/evp.h>
#include <string.h>

void nc_gh_escape(struct nc_buf *out, const char *s, bool prop)
{
	for (; *s; s++) {
		switch (*s) {
		case '%': nc_buf_adds(out, "%25"); break;
		case '\r': nc_buf_adds(out, "%0D"); break;
		case '\n': nc_buf_adds(out, "%0A"); break;
		case ':': nc_buf_adds(out, prop ? "%3A" : ":"); break;
		case ',': nc_buf_adds(out, prop ? "%2C" : ","); break;
		default: nc_buf_addc(out, *s);
		}
	}
}

void nc_diags_format_github(const struct nc_diags *d, struct nc_buf *out)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct nc_diag *g = &d->v[i];
		const char *cmd = g->sev == NC_SEV_ERROR ? "error" : g->sev == NC_SEV_WARNING ? "warning" : "notice";

		nc_buf_addf(out, "::%s ", cmd);
		if (g->file[0]) {
			nc_buf_adds(out, "file=");
			nc_gh_escape(out, g->file, true);
			nc_buf_addc(out, ',');
		}
		if (g->line)
			nc_buf_addf(out, "line=%u,col=%u,", g->line, g->col);
		nc_buf_adds(out, "title=novacron validate::");
		nc_gh_escape(out, g->msg, false);
		nc_buf_addc(out, '\n');
	}
}

static const char *gitlab_severity(enum nc_severity s)
{
	return s == NC_SEV_ERROR ? "major" : s == NC_SEV_WARNING ? "minor" : "info";
}

void nc_diags_format_gitlab(const struct nc_diags *d, struct nc_buf *out)
{
	json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct nc_diag *g = &d->v[i];
		json_object *o = json_object_new_object(), *loc = json_object_new_object(),
			    *lines = json_object_new_object();
		struct nc_buf key = NC_BUF_INIT;
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0, k;
		char hex[2 * EVP_MAX_MD_SIZE + 1];

		/* file NUL line NUL message: no two different problems share the input */
		nc_buf_addf(&key, "%s%c%u%c%s", g->file, 0, g->line, 0, g->msg);
		if (EVP_Digest(key.buf, key.len, md, &mdlen, EVP_sha256(), NULL) != 1)
			mdlen = 0;
		for (k = 0; k < mdlen; k++)
			snprintf(hex + 2 * k, 3, "%02x", md[k]);
		hex[2 * mdlen] = '\0';
		nc_buf_release(&key);
		json_object_object_add(o, "description", json_object_new_string(g->msg));
		json_object_object_add(o, "check_name", json_object_new_string(
			g->sev == NC_SEV_ERROR ? "novacron-validate-error" :
			g->sev == NC_SEV_WARNING ? "novacron-validate-warning" : "novacron-validate-note"));
		json_object_object_add(o, "fingerprint", json_object_new_string(hex));
		json_object_object_add(o, "severity", json_object_new_string(gitlab_severity(g->sev)));
		json_object_object_add(loc, "path", json_object_new_string(g->file));
		json_object_object_add(lines, "begin", json_object_new_int64(g->line ? (int64_t)g->line : 1));
		json_object_object_add(loc, "lines", lines);
		json_object_object_add(o, "location", loc);
		json_object_array_add(arr, o);
	}
	nc_buf_adds(out, json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
							JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	nc_buf_addc(out, '\n');
	json_object_put(arr);
}

bool nc_marker_id_ok(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++) {
		char c = id[n];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '/' || c == '-'))
			return false;
	}
	return n >= 1 && n <= NC_MARKER_MAX;
}

void nc_marker_line(struct nc_buf *out, const char *id)
{
	if (id && *id)
		nc_buf_addf(out, "<!-- novacron:plan:%s -->", id);
	else
		nc_buf_adds(out, "<!-- novacron:plan -->");
}
