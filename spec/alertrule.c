/*
 * alertrule.c - AlertRule summary templates (model.h): "{{ NAME }}"
 * placeholders from a fixed list, checked when the spec is loaded and
 * expanded by telemetry/alerts.c.  Nothing else in a template has a
 * meaning: it cannot name a file, run a program or fetch a URL.
 */
#include "model.h"

#include <stdio.h>
#include <string.h>

const char *const nc_alert_placeholders[NC_PH__COUNT] = {
	[NC_PH_OBJECT] = "object", [NC_PH_VALUE] = "value", [NC_PH_THRESHOLD] = "threshold",
	[NC_PH_HOST] = "host", [NC_PH_RULE] = "rule", [NC_PH_METRIC] = "metric",
	[NC_PH_TARGET] = "target", [NC_PH_SEVERITY] = "severity",
};

/*
 * At s (just after "{{"): the placeholder's index, with *end just after its
 * "}}"; -1 when there is no closing "}}" (*end = NULL) or the name is not
 * one of the list (*name, *nlen the name).
 */
static int placeholder(const char *s, const char **end, const char **name, size_t *nlen)
{
	const char *p = s, *close = strstr(s, "}}"), *q;
	size_t i, n;

	*end = NULL;
	*name = NULL;
	*nlen = 0;
	if (!close)
		return -1;
	while (p < close && *p == ' ')
		p++;
	n = 0;
	while (p + n < close && p[n] != ' ')
		n++;
	*name = p;
	*nlen = n;
	*end = close + 2;
	for (q = p + n; q < close; q++)
		if (*q != ' ')
			return -1;   /* "{{ a b }}" */
	for (i = 0; i < NC_PH__COUNT; i++)
		if (strlen(nc_alert_placeholders[i]) == n && memcmp(nc_alert_placeholders[i], p, n) == 0)
			return (int)i;
	return -1;
}

int nc_alert_template_check(const char *s, size_t *off, const char **why, char *why_buf, size_t why_len)
{
	const char *p = s, *open, *end, *name;
	size_t nlen, i;

	if (strlen(s) > NC_ALERT_SUMMARY_MAX) {
		*off = 0;
		snprintf(why_buf, why_len, "longer than %d bytes", NC_ALERT_SUMMARY_MAX);
		*why = why_buf;
		return -1;
	}
	for (i = 0; s[i]; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			*off = i;
			*why = "control characters (line breaks, escape sequences) are not allowed";
			return -1;
		}
	}
	while ((open = strstr(p, "{{"))) {
		if (placeholder(open + 2, &end, &name, &nlen) >= 0) {
			p = end;
			continue;
		}
		*off = (size_t)(open - s);
		if (!end) {
			*why = "'{{' without a closing '}}'";
			return -1;
		}
		snprintf(why_buf, why_len, "unknown placeholder '{{ %.*s }}' (expected object, value, threshold, "
			 "host, rule, metric, target or severity)", (int)(nlen > 40 ? 40 : nlen), name);
		*why = why_buf;
		return -1;
	}
	return 0;
}

void nc_alert_template_expand(struct nc_buf *out, const char *tmpl, const char *const vals[NC_PH__COUNT])
{
	const char *p = tmpl, *open, *end, *name;
	size_t nlen;
	int ph;

	while ((open = strstr(p, "{{"))) {
		ph = placeholder(open + 2, &end, &name, &nlen);
		if (ph < 0) {
			/* a checked template has none; copy an unchecked one as it is */
			nc_buf_add(out, p, (size_t)(open + 2 - p));
			p = open + 2;
			continue;
		}
		nc_buf_add(out, p, (size_t)(open - p));
		if (vals[ph])
			nc_buf_adds(out, vals[ph]);
		p = end;
	}
	nc_buf_adds(out, p);
}
